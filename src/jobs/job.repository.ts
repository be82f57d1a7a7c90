import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { type JobStatus, type Priority } from './domain/job-state.js';
import type { JobEvent } from '../events/job-event-bus.js';
import { ACTOR_DATA, NOTHING_MOVED, type Moved } from './transition-sql.js';
import type { Job } from './entities/job.entity.js';
import { JOB_COLUMNS, rowToJob, type JobRow } from './job-row.js';
import { newJobRow, type NewJob } from './new-job.js';
import { branchesOf } from './status-type-branches.js';

export interface ListFilter {
  statuses?: JobStatus[];
  types?: string[];
  priorities?: Priority[];
  concurrencyKeys?: string[];
  scheduleIds?: string[];
  limit: number;
  /** The page ends once its payloads and results pass this many bytes (at least one job comes). */
  maxBytes: number;
  after?: { createdAt: string; id: string };
}

/** SQL and row mapping for the jobs table: inserts, reads by id and key, lists. No decisions: those belong to the services. */
@Injectable()
export class JobRepository {
  constructor(private readonly sql: Sql) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.sql.transaction(work);
  }

  /**
   * Inserts jobs, their edges and one "submitted" log line each, in one statement per table.
   * Jobs whose idempotency_key already exists are skipped (not returned), and so are jobs of a
   * schedule's tick that already has its job (`jobs_schedule_tick_key`).
   */
  async insert(jobs: readonly NewJob[], edges: ReadonlyArray<[string, string]>, tx?: EntityManager): Promise<Moved> {
    if (jobs.length === 0) return NOTHING_MOVED;
    // A schedule's jobs carry no idempotency_key (its template refuses one): their only unique is the tick.
    const scheduled = jobs.every((j) => j.scheduleId);
    // Only what the database decided comes back (times, the event's data): the rest is in the drafts,
    // and not parsing 10,000 whole rows back is a good part of a big batch's time.
    // The drafts go as one JSON text parameter, expanded by json_to_recordset (a draft's keys are the
    // record's column names; an absent key is null): one native JSON.stringify instead of pg's text
    // encoding of 24 parameter arrays, which escaped every payload's JSON a second time.
    const rows: Array<{ id: string; created_at: Date; queued_at: Date | null; data: JobEvent['data'] }> = await this.sql.query(
      `WITH t AS MATERIALIZED (
         SELECT * FROM json_to_recordset($1::json) AS t(
           id uuid, type varchar, priority job_priority, status job_status, payload jsonb, "cpuUnits" int, "memoryMb" int,
           "maxAttempts" int, "backoffMultiplier" float8, "initialDelayMs" int, "maxDelayMs" int, "timeoutSeconds" int,
           "idempotencyKey" varchar, ref varchar, "pendingDependencies" int, error jsonb, "waitingReason" jsonb,
           "completedAt" timestamptz, actor text, "concurrencyKey" varchar, "runAt" timestamptz, "nextRunAt" timestamptz,
           "scheduleId" uuid, "scheduledFor" timestamptz)
       ), inserted AS (
         INSERT INTO jobs AS j (id, type, priority, status, payload, cpu_units, memory_mb, max_attempts, backoff_multiplier,
                           initial_delay_ms, max_delay_ms, timeout_seconds, idempotency_key, ref, pending_dependencies,
                           error, waiting_reason, completed_at, concurrency_key, run_at, next_run_at, schedule_id, scheduled_for, event_seq, queued_at)
         SELECT t.id, t.type, t.priority, t.status, t.payload, t."cpuUnits", t."memoryMb", t."maxAttempts", t."backoffMultiplier",
                t."initialDelayMs", t."maxDelayMs", t."timeoutSeconds", t."idempotencyKey", t.ref, t."pendingDependencies",
                t.error, t."waitingReason", t."completedAt", t."concurrencyKey", t."runAt", t."nextRunAt", t."scheduleId",
                t."scheduledFor", 1, CASE WHEN t.status = 'ready' THEN now() END
         FROM t
         ON CONFLICT ${scheduled ? '(schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL' : '(idempotency_key) WHERE idempotency_key IS NOT NULL'} DO NOTHING
         RETURNING j.id, j.status, j.created_at, j.queued_at, job_event_data(j) AS data
       ), created AS (
         SELECT s.id, s.status, s.created_at, s.queued_at, s.data || ${ACTOR_DATA('t.actor')} AS data
         FROM inserted s JOIN t ON t.id = s.id
       ), logged AS (
         INSERT INTO job_logs (job_id, level, message, attempt, data, event, sequence)
         SELECT s.id, CASE WHEN s.status = 'cancelled' THEN 'warn' ELSE 'info' END,
                'job submitted as ' || s.status, 0, s.data, 'job_created', 1
         FROM created s
       )
       SELECT id, created_at, queued_at, data FROM created`,
      [JSON.stringify(jobs)], tx
    );
    const drafts = new Map(jobs.map((j) => [j.id, j]));
    const inserted = rows.map((row) => newJobRow(drafts.get(row.id)!, row.created_at, row.queued_at));
    const events: JobEvent[] = rows.map((row) => ({ event: 'job_created', jobId: row.id, data: row.data }));
    if (edges.length > 0) {
      const insertedIds = new Set(inserted.map((j) => j.id));
      const kept = edges.filter(([jobId]) => insertedIds.has(jobId));
      if (kept.length > 0) {
        await this.sql.query(
          `INSERT INTO job_dependencies (job_id, depends_on_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])`,
          [kept.map((e) => e[0]), kept.map((e) => e[1])], tx
        );
      }
    }
    return { jobs: inserted, events };
  }

  async findById(id: string, tx?: EntityManager): Promise<Job | null> {
    const rows: JobRow[] = await this.sql.query(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id], tx);
    return rows[0] ? rowToJob(rows[0]) : null;
  }

  async statusesOf(ids: readonly string[], tx?: EntityManager): Promise<Map<string, JobStatus>> {
    if (ids.length === 0) return new Map();
    const rows: Array<{ id: string; status: JobStatus }> = await this.sql.query(`SELECT id, status FROM jobs WHERE id = ANY($1::uuid[])`, [ids], tx);
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  async findByIdempotencyKeys(keys: string[], tx?: EntityManager): Promise<Job[]> {
    if (keys.length === 0) return [];
    const rows: JobRow[] = await this.sql.query(`SELECT ${JOB_COLUMNS} FROM jobs WHERE idempotency_key = ANY($1::varchar[])`, [keys], tx);
    return rows.map(rowToJob);
  }

  /** Serializes concurrent submits of the same idempotency keys until the transaction ends. */
  async lockIdempotencyKeys(keys: string[], tx: EntityManager): Promise<void> {
    await this.sql.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 7236003)) FROM unnest($1::text[]) AS k ORDER BY k`, [[...new Set(keys)]], tx);
  }

  /**
   * Newest first, keyset on (created_at, id). `fetched`: how many rows the page read (one more than
   * `limit` when there is a next page); `jobs` holds fewer when their payloads and results pass `maxBytes`.
   * One index range per status (jobs_status_created_idx), all of them when no status is asked, and per
   * status and type when a few types are asked (branchesOf), merged newest first: a page reads a few
   * entries per range whatever the table holds.
   */
  async list(filter: ListFilter): Promise<{ jobs: Job[]; fetched: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    const { branches: ranges, typesInBranches } = branchesOf(filter.statuses, filter.types);
    if (filter.types?.length && !typesInBranches) add('type = ANY(?::varchar[])', filter.types);
    if (filter.priorities?.length) add('priority = ANY(?::job_priority[])', filter.priorities);
    if (filter.concurrencyKeys?.length) add('concurrency_key = ANY(?::varchar[])', filter.concurrencyKeys);
    if (filter.scheduleIds?.length) add('schedule_id = ANY(?::uuid[])', filter.scheduleIds);
    if (filter.after) {
      params.push(filter.after.createdAt, filter.after.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(filter.limit + 1);
    const limit = `$${params.length}`;
    const branches = ranges.map(({ status, type }) => {
      params.push(status);
      const own = [`status = $${params.length}::job_status`];
      if (type !== undefined) own.push(`type = $${params.push(type)}::varchar`);
      const conditions = [...own, ...where].join(' AND ');
      return `(SELECT ${JOB_COLUMNS} FROM jobs WHERE ${conditions} ORDER BY created_at DESC, id DESC LIMIT ${limit})`;
    });
    params.push(filter.maxBytes);
    const maxBytes = `$${params.length}`;
    // The page ends early once its payloads and results pass maxBytes (the first row always comes).
    const rows: JobRow[] = await this.sql.dynamic(
      `SELECT * FROM (
         SELECT page.*, count(*) OVER () AS fetched,
                coalesce(sum(octet_length(payload::text) + coalesce(octet_length(result::text), 0))
                  OVER (ORDER BY created_at DESC, id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
         FROM (SELECT * FROM (${branches.join(' UNION ALL ')}) merged ORDER BY created_at DESC, id DESC LIMIT ${limit}) page
       ) sized WHERE before < ${maxBytes}::bigint ORDER BY created_at DESC, id DESC`,
      params
    );
    return { jobs: rows.map(rowToJob), fetched: Number(rows[0]?.fetched ?? 0) };
  }
}
