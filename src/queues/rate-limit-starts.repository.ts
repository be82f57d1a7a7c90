import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql.js';

/** A start of a rate-limited type: its job and when it counts (ms since the epoch). */
export interface RateLimitStart {
  jobId: string;
  type: string;
  at: number;
}

/** A start read back: stored, or from `jobs` (started and not stored yet, or placed and not started yet). */
export interface RecentStart extends RateLimitStart {
  kind: 'stored' | 'started' | 'placed';
}

const WINDOW = `make_interval(secs => $2::float8 / 1000)`;

/**
 * The starts of rate-limited types (`rate_limit_starts`, DESIGN §12), kept so that a leader can
 * rebuild its start log at a takeover or a change of a limit: every start in a window counts, also
 * the earlier attempts of a retried job and the starts of jobs deleted since.
 */
@Injectable()
export class RateLimitStartsRepository {
  constructor(private readonly sql: Sql) {}

  /** Stores starts the leader counted. */
  async record(starts: readonly RateLimitStart[]): Promise<void> {
    if (starts.length === 0) return;
    await this.sql.query(
      `INSERT INTO rate_limit_starts (job_id, type, started_at)
       SELECT s.job_id, s.type, to_timestamp(s.at / 1000) FROM unnest($1::uuid[], $2::varchar[], $3::float8[]) AS s(job_id, type, at)`,
      [starts.map((s) => s.jobId), starts.map((s) => s.type), starts.map((s) => s.at)],
    );
  }

  /**
   * Starts of the given types within the last `windowMs` (ms since the epoch): the stored ones
   * (`stored`), and from `jobs` those not stored yet (a leader stopped between a start and its row, a
   * start just made): each job's latest start (`started`, `started_at`) unless a row at or after it is
   * stored, and the placements not started yet (`placed`, `placed_at`: their start is to come) unless
   * one at or after the placement is. Those are read however long ago they were made: a worker that was
   * frozen, or slow to take its hand-over, may start an old placement any moment, and that start must
   * find room in the window (the stale placements are taken back after a grace period, not at once).
   */
  async recent(types: readonly string[], windowMs: number): Promise<RecentStart[]> {
    if (types.length === 0) return [];
    const rows: Array<{ job_id: string; type: string; at: string; kind: RecentStart['kind'] }> = await this.sql.query(
      `SELECT job_id, type, (extract(epoch FROM started_at) * 1000)::float8 AS at, 'stored' AS kind FROM rate_limit_starts
       WHERE type = ANY($1::varchar[]) AND started_at > now() - ${WINDOW}
       UNION ALL
       SELECT j.id, j.type, (extract(epoch FROM j.started_at) * 1000)::float8, 'started' FROM jobs j
       WHERE j.type = ANY($1::varchar[]) AND j.started_at > now() - ${WINDOW}
         AND NOT EXISTS (SELECT 1 FROM rate_limit_starts l WHERE l.job_id = j.id AND l.started_at >= j.started_at)
       UNION ALL
       SELECT j.id, j.type, (extract(epoch FROM j.placed_at) * 1000)::float8, 'placed' FROM jobs j
       WHERE j.type = ANY($1::varchar[]) AND j.status = 'ready' AND j.allocated
         AND NOT EXISTS (SELECT 1 FROM rate_limit_starts l WHERE l.job_id = j.id AND l.started_at >= j.placed_at)`,
      [types, windowMs],
    );
    return rows.map((r) => ({ jobId: r.job_id, type: r.type, at: Number(r.at), kind: r.kind }));
  }

  /**
   * Deletes the starts older than `keepMs`, and than their type's window where it is longer (`windows`:
   * the types with a rate limit).
   */
  async prune(windows: ReadonlyArray<{ type: string; intervalMs: number }>, keepMs: number): Promise<number> {
    const rows: Array<{ n: number }> = await this.sql.query(
      `WITH gone AS (
         DELETE FROM rate_limit_starts l
         WHERE l.started_at <= now() - make_interval(secs => $3::float8 / 1000)
           AND NOT EXISTS (
             SELECT 1 FROM unnest($1::varchar[], $2::float8[]) AS w(type, ms)
             WHERE w.type = l.type AND l.started_at > now() - make_interval(secs => w.ms / 1000))
         RETURNING 1
       ) SELECT count(*)::int AS n FROM gone`,
      [windows.map((w) => w.type), windows.map((w) => w.intervalMs), keepMs],
    );
    return rows[0]?.n ?? 0;
  }
}
