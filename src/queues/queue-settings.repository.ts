import type { EntityManager } from 'typeorm';
import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql.js';
import { JOB_STATUSES, type JobStatus } from '../jobs/domain/job-state.js';

export interface QueueSettings {
  type: string;
  paused: boolean;
  concurrencyLimit: number | null;
  keyConcurrencyLimit: number | null;
  rateLimit: { limit: number; intervalMs: number } | null;
  updatedAt: Date | null;
}

/** A change to a queue's settings: only the fields given change (null clears a limit). */
export interface QueueSettingsPatch {
  paused?: boolean;
  concurrencyLimit?: number | null;
  keyConcurrencyLimit?: number | null;
  rateLimit?: { limit: number; intervalMs: number } | null;
}

export type StatusCounts = Record<JobStatus, number>;

const zeroCounts = (): StatusCounts => Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as StatusCounts;

const SETTINGS_COLUMNS = `type, paused, concurrency_limit, key_concurrency_limit, rate_limit, rate_interval_ms, updated_at`;

function rowToSettings(r: Record<string, unknown>): QueueSettings {
  return {
    type: r.type as string,
    paused: r.paused as boolean,
    concurrencyLimit: (r.concurrency_limit as number | null) ?? null,
    keyConcurrencyLimit: (r.key_concurrency_limit as number | null) ?? null,
    rateLimit: r.rate_limit === null || r.rate_limit === undefined ? null : { limit: r.rate_limit as number, intervalMs: r.rate_interval_ms as number },
    updatedAt: (r.updated_at as Date | null) ?? null,
  };
}

/**
 * Queue settings (`queues`) and the counts by type and status (`job_counts` plus the deltas the
 * triggers of `jobs` append, not folded yet: DESIGN §12 `counts`, never a count over `jobs`).
 */
@Injectable()
export class QueueSettingsRepository {
  constructor(private readonly sql: Sql) {}

  async all(): Promise<QueueSettings[]> {
    const rows: Array<Record<string, unknown>> = await this.sql.query(`SELECT ${SETTINGS_COLUMNS} FROM queues ORDER BY type`);
    return rows.map(rowToSettings);
  }

  async find(type: string): Promise<QueueSettings | null> {
    const rows: Array<Record<string, unknown>> = await this.sql.query(`SELECT ${SETTINGS_COLUMNS} FROM queues WHERE type = $1`, [type]);
    return rows[0] ? rowToSettings(rows[0]) : null;
  }

  /** Applies `patch` to the type's row (created with no rule when missing) in one statement; returns the row. */
  async update(type: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
    const has = (k: keyof QueueSettingsPatch) => patch[k] !== undefined;
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `INSERT INTO queues AS q (type, paused, concurrency_limit, key_concurrency_limit, rate_limit, rate_interval_ms)
       VALUES ($1, coalesce($3::boolean, false), $5::int, $7::int, $9::int, $10::int)
       ON CONFLICT (type) DO UPDATE SET
         paused = CASE WHEN $2::boolean THEN coalesce($3::boolean, false) ELSE q.paused END,
         concurrency_limit = CASE WHEN $4::boolean THEN $5::int ELSE q.concurrency_limit END,
         key_concurrency_limit = CASE WHEN $6::boolean THEN $7::int ELSE q.key_concurrency_limit END,
         rate_limit = CASE WHEN $8::boolean THEN $9::int ELSE q.rate_limit END,
         rate_interval_ms = CASE WHEN $8::boolean THEN $10::int ELSE q.rate_interval_ms END,
         updated_at = now()
       RETURNING ${SETTINGS_COLUMNS}`,
      [
        type,
        has('paused'), patch.paused ?? null,
        has('concurrencyLimit'), patch.concurrencyLimit ?? null,
        has('keyConcurrencyLimit'), patch.keyConcurrencyLimit ?? null,
        has('rateLimit'), patch.rateLimit?.limit ?? null, patch.rateLimit?.intervalMs ?? null,
      ],
    );
    return rowToSettings(rows[0]!);
  }

  /** Jobs per status for each type that has any (`types` null: all types). */
  async counts(types: string[] | null): Promise<Map<string, StatusCounts>> {
    const rows: Array<{ type: string; status: JobStatus; count: string }> = await this.sql.query(
      `SELECT type, status::text AS status, sum(n)::text AS count FROM (
         SELECT type, status, count AS n FROM job_counts WHERE $1::varchar[] IS NULL OR type = ANY($1::varchar[])
         UNION ALL
         SELECT type, status, delta FROM job_count_deltas WHERE $1::varchar[] IS NULL OR type = ANY($1::varchar[])
       ) c GROUP BY type, status`,
      [types],
    );
    const out = new Map<string, StatusCounts>();
    for (const r of rows) {
      const counts = out.get(r.type) ?? zeroCounts();
      counts[r.status] = Number(r.count);
      out.set(r.type, counts);
    }
    return out;
  }

  /** Jobs per status over every type (the jobs-by-status gauge). */
  async totals(): Promise<StatusCounts> {
    const totals = zeroCounts();
    for (const counts of (await this.counts(null)).values()) for (const s of JOB_STATUSES) totals[s] += counts[s];
    return totals;
  }

  /** When the oldest ready job of each type that waits for a worker became ready (one descent of jobs_ready_type_since_idx per type). */
  async oldestReady(types: string[]): Promise<Map<string, Date>> {
    if (types.length === 0) return new Map();
    const rows: Array<{ type: string; at: Date | null }> = await this.sql.query(
      `SELECT t.type, (SELECT min(coalesce(j.queued_at, j.created_at)) FROM jobs j WHERE j.status = 'ready' AND NOT j.allocated AND j.type = t.type) AS at
       FROM unnest($1::varchar[]) AS t(type)`,
      [types],
    );
    return new Map(rows.filter((r) => r.at !== null).map((r) => [r.type, r.at!]));
  }

  /**
   * Folds the deltas into the counts (the leader, every second). Deletes what it folds in the same
   * statement, so a delta is never folded twice nor lost. Returns how many delta rows it folded.
   */
  async fold(): Promise<number> {
    const rows: Array<{ folded: string }> = await this.sql.query(
      `WITH taken AS (
         DELETE FROM job_count_deltas RETURNING type, status, delta
       ), summed AS (
         SELECT type, status, sum(delta) AS delta, count(*) AS n FROM taken GROUP BY type, status
       ), applied AS (
         INSERT INTO job_counts AS c (type, status, count) SELECT type, status, delta FROM summed
         ON CONFLICT (type, status) DO UPDATE SET count = c.count + EXCLUDED.count
         RETURNING 1
       ) SELECT coalesce((SELECT sum(n) FROM summed), 0)::text AS folded`,
    );
    return Number(rows[0]?.folded ?? 0);
  }

  /**
   * Compares the counters with a count over `jobs` and, when `repair`, rewrites them to it. Returns the
   * (type, status) pairs that differed. The comparison reads one snapshot (REPEATABLE READ): a
   * transition writes its row and its count delta in one transaction, so both sides agree in any
   * snapshot unless the counts really drifted, and nothing waits for it. Only a drift found there is
   * compared again and repaired under a SHARE lock on `jobs` (transitions wait for that one count; reads
   * go on), so the rebuilt counts match the rows exactly.
   */
  async check(repair: boolean): Promise<Array<{ type: string; status: JobStatus; counted: number; actual: number }>> {
    const seen = await this.sql.transaction(async (tx) => {
      await this.sql.query(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`, [], tx);
      return this.drift(tx);
    });
    if (!repair || seen.length === 0) return seen;
    return this.sql.transaction(async (tx) => {
      await this.sql.query(`LOCK TABLE jobs IN SHARE MODE`, [], tx);
      const drift = await this.drift(tx);
      if (drift.length > 0) {
        await this.sql.query(`DELETE FROM job_count_deltas`, [], tx);
        await this.sql.query(`DELETE FROM job_counts`, [], tx);
        await this.sql.query(`INSERT INTO job_counts (type, status, count) SELECT type, status, count(*) FROM jobs GROUP BY type, status`, [], tx);
      }
      return drift;
    });
  }

  /** The (type, status) pairs whose counters (counts plus unfolded deltas) differ from a count over `jobs`. */
  private async drift(tx: EntityManager): Promise<Array<{ type: string; status: JobStatus; counted: number; actual: number }>> {
    const rows: Array<{ type: string; status: JobStatus; counted: string; actual: string }> = await this.sql.query(
      `WITH counted AS (
         SELECT type, status, sum(n) AS n FROM (
           SELECT type, status, count AS n FROM job_counts UNION ALL SELECT type, status, delta FROM job_count_deltas
         ) c GROUP BY type, status
       ), actual AS (SELECT type, status, count(*) AS n FROM jobs GROUP BY type, status)
       SELECT coalesce(c.type, a.type) AS type, coalesce(c.status, a.status)::text AS status,
              coalesce(c.n, 0)::text AS counted, coalesce(a.n, 0)::text AS actual
       FROM counted c FULL JOIN actual a ON a.type = c.type AND a.status = c.status
       WHERE coalesce(c.n, 0) <> coalesce(a.n, 0)`,
      [], tx,
    );
    return rows.map((d) => ({ type: d.type, status: d.status, counted: Number(d.counted), actual: Number(d.actual) }));
  }
}
