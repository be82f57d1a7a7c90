import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { JOB_STATUSES, type JobStatus, type Priority } from './domain/job-state.js';
import type { JobEvent, JobEventName } from '../events/job-event-bus.js';
import type { JobLogLevel } from './entities/job-log.entity.js';
import { ACTOR_DATA, NOTHING_MOVED, type Moved } from './transition-sql.js';
import { JobLog } from './entities/job-log.entity.js';
import { Job, type JobErrorInfo, type WaitingReason } from './entities/job.entity.js';
import { JOB_COLUMNS, rowToJob, type JobRow } from './job-row.js';

/** The order of ready jobs of equal priority (DESIGN §10); defined beside the migrations. */
export { DUE_AT } from '../database/job-order.js';

/** A job about to be inserted, with every default already applied. */
export interface NewJob {
  id: string;
  type: string;
  priority: Priority;
  status: JobStatus;
  payload: Record<string, unknown>;
  cpuUnits: number;
  memoryMb: number;
  maxAttempts: number;
  backoffMultiplier: number;
  initialDelayMs: number;
  maxDelayMs: number;
  timeoutSeconds: number;
  idempotencyKey: string | null;
  /** Per-key limits and fair turns (DESIGN §12). */
  concurrencyKey: string | null;
  ref: string | null;
  pendingDependencies: number;
  error: JobErrorInfo | null;
  waitingReason: WaitingReason | null;
  /** Set for jobs stored directly as cancelled. */
  completedAt: Date | null;
  /** Who submitted it (an API key's name): recorded as `actor` in its job_created log row and event. */
  actor: string | null;
  /** When it may start at the earliest (DESIGN §10), or null. */
  runAt: Date | null;
  /** Set for jobs stored as pending: when they become ready (their runAt). */
  nextRunAt: Date | null;
  /** The schedule and tick that create it (DESIGN §11); null for a submitted job. */
  scheduleId?: string | null;
  scheduledFor?: Date | null;
}

export interface LogLine {
  jobId: string;
  level: JobLogLevel;
  message: string;
  attempt: number;
  data?: Record<string, unknown> | null;
}

export interface ListFilter {
  statuses?: JobStatus[];
  types?: string[];
  priorities?: Priority[];
  concurrencyKeys?: string[];
  scheduleIds?: string[];
  limit: number;
  after?: { createdAt: string; id: string };
}

/** A ready job as the scheduler's placement pass reads it. */
export interface ReadyJob {
  id: string;
  type: string;
  concurrencyKey: string | null;
  cpuUnits: number;
  memoryMb: number;
  queuedAt: Date | null;
  createdAt: Date;
  reasonCode: string | null;
  reasonMessage: string | null;
}

export interface DependencyState {
  id: string;
  status: JobStatus;
  error: JobErrorInfo | null;
}

/** SQL and row mapping for jobs, their edges and their logs. No decisions: those belong to the services. */
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
    const col = <K extends keyof NewJob>(key: K) => jobs.map((j) => j[key]);
    const json = (values: unknown[]) => values.map((v) => (v === null || v === undefined ? null : JSON.stringify(v)));
    // Only what the database decided comes back (times, the event's data): the rest is in the drafts,
    // and not parsing 10,000 whole rows back is a good part of a big batch's time.
    const rows: Array<{ id: string; created_at: Date; queued_at: Date | null; data: JobEvent['data'] }> = await this.sql.query(
      `WITH inserted AS (
         INSERT INTO jobs AS j (id, type, priority, status, payload, cpu_units, memory_mb, max_attempts, backoff_multiplier,
                           initial_delay_ms, max_delay_ms, timeout_seconds, idempotency_key, ref, pending_dependencies,
                           error, waiting_reason, completed_at, concurrency_key, run_at, next_run_at, schedule_id, scheduled_for, event_seq, queued_at)
         SELECT *, 1, CASE WHEN t.status = 'ready' THEN now() END
         FROM unnest($1::uuid[], $2::varchar[], $3::job_priority[], $4::job_status[], $5::jsonb[], $6::int[],
                     $7::int[], $8::int[], $9::float8[], $10::int[], $11::int[], $12::int[], $13::varchar[],
                     $14::varchar[], $15::int[], $16::jsonb[], $17::jsonb[], $18::timestamptz[], $20::varchar[],
                     $21::timestamptz[], $22::timestamptz[], $23::uuid[], $24::timestamptz[])
              AS t(id, type, priority, status, payload, cpu_units, memory_mb, max_attempts, backoff_multiplier,
                   initial_delay_ms, max_delay_ms, timeout_seconds, idempotency_key, ref, pending_dependencies,
                   error, waiting_reason, completed_at, concurrency_key, run_at, next_run_at, schedule_id, scheduled_for)
         ON CONFLICT ${scheduled ? '(schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL' : '(idempotency_key) WHERE idempotency_key IS NOT NULL'} DO NOTHING
         RETURNING j.id, j.status, j.created_at, j.queued_at, job_event_data(j) AS data
       ), created AS (
         SELECT s.id, s.status, s.created_at, s.queued_at, s.data || ${ACTOR_DATA('a.actor')} AS data
         FROM inserted s JOIN unnest($1::uuid[], $19::text[]) AS a(id, actor) ON a.id = s.id
       ), logged AS (
         INSERT INTO job_logs (job_id, level, message, attempt, data, event, sequence)
         SELECT s.id, CASE WHEN s.status = 'cancelled' THEN 'warn' ELSE 'info' END,
                'job submitted as ' || s.status, 0, s.data, 'job_created', 1
         FROM created s
       )
       SELECT id, created_at, queued_at, data FROM created`,
      [
        col('id'), col('type'), col('priority'), col('status'), json(col('payload')), col('cpuUnits'), col('memoryMb'),
        col('maxAttempts'), col('backoffMultiplier'), col('initialDelayMs'), col('maxDelayMs'), col('timeoutSeconds'),
        col('idempotencyKey'), col('ref'), col('pendingDependencies'), json(col('error')), json(col('waitingReason')),
        col('completedAt'), col('actor'), col('concurrencyKey'),
        col('runAt'), col('nextRunAt'),
        jobs.map((j) => j.scheduleId ?? null), jobs.map((j) => j.scheduledFor ?? null),
      ], tx
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
   * Reads the dependencies' states and holds a share lock on them until the transaction ends, so
   * none of them can change state between this check and the insert of the edges (DAG counters).
   */
  async lockDependencies(ids: string[], tx: EntityManager): Promise<DependencyState[]> {
    if (ids.length === 0) return [];
    const rows: Array<{ id: string; status: JobStatus; error: JobErrorInfo | null }> = await this.sql.query(
      `SELECT id, status, error FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`,
      [ids], tx
    );
    return rows;
  }

  /** depends_on and dependents of each job, in a stable order. */
  async edgesOf(ids: string[], tx?: EntityManager): Promise<Map<string, { dependsOn: string[]; dependents: string[] }>> {
    const edges = new Map(ids.map((id) => [id, { dependsOn: [] as string[], dependents: [] as string[] }]));
    if (ids.length === 0) return edges;
    const rows: Array<{ job_id: string; depends_on_id: string }> = await this.sql.query(
      `SELECT job_id, depends_on_id FROM job_dependencies WHERE job_id = ANY($1::uuid[])
       UNION ALL
       SELECT job_id, depends_on_id FROM job_dependencies WHERE depends_on_id = ANY($1::uuid[])
       ORDER BY job_id, depends_on_id`,
      [ids], tx
    );
    const seen = new Set<string>();
    for (const { job_id, depends_on_id } of rows) {
      const key = `${job_id}>${depends_on_id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.get(job_id)?.dependsOn.push(depends_on_id);
      edges.get(depends_on_id)?.dependents.push(job_id);
    }
    return edges;
  }

  /**
   * Newest first, keyset on (created_at, id). Returns one more than `limit` when there is a next page.
   * One index range per status (jobs_status_created_idx), all of them when no status is asked, merged
   * newest first: a page reads a few entries per status whatever the table holds.
   */
  async list(filter: ListFilter): Promise<Job[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.types?.length) add('type = ANY(?::varchar[])', filter.types);
    if (filter.priorities?.length) add('priority = ANY(?::job_priority[])', filter.priorities);
    if (filter.concurrencyKeys?.length) add('concurrency_key = ANY(?::varchar[])', filter.concurrencyKeys);
    if (filter.scheduleIds?.length) add('schedule_id = ANY(?::uuid[])', filter.scheduleIds);
    if (filter.after) {
      params.push(filter.after.createdAt, filter.after.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(filter.limit + 1);
    const limit = `$${params.length}`;
    const statuses = filter.statuses?.length ? [...new Set(filter.statuses)] : JOB_STATUSES;
    const branches = statuses.map((status) => {
      params.push(status);
      const conditions = [`status = $${params.length}::job_status`, ...where].join(' AND ');
      return `(SELECT ${JOB_COLUMNS} FROM jobs WHERE ${conditions} ORDER BY created_at DESC, id DESC LIMIT ${limit})`;
    });
    const rows: JobRow[] = await this.sql.dynamic(
      `SELECT * FROM (${branches.join(' UNION ALL ')}) page ORDER BY created_at DESC, id DESC LIMIT ${limit}`,
      params
    );
    return rows.map(rowToJob);
  }

  /** Oldest first, keyset on id. Returns one more than `limit` when there is a next page. */
  async logs(jobId: string, afterId: string | undefined, limit: number): Promise<JobLog[]> {
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `SELECT id, job_id, created_at, level, message, attempt, data, event, sequence FROM job_logs
       WHERE job_id = $1 AND ($2::bigint IS NULL OR id > $2::bigint) ORDER BY id LIMIT $3`,
      [jobId, afterId ?? null, limit + 1]
    );
    return rows.map((r) =>
      Object.assign(new JobLog(), {
        id: String(r.id),
        jobId: r.job_id as string,
        createdAt: r.created_at as Date,
        level: r.level as JobLogLevel,
        message: r.message as string,
        attempt: r.attempt as number,
        data: (r.data as Record<string, unknown> | null) ?? null,
        event: (r.event as string | null) ?? null,
        sequence: (r.sequence as number | null) ?? null,
      }),
    );
  }

  async appendLogs(lines: readonly LogLine[], tx?: EntityManager): Promise<void> {
    if (lines.length === 0) return;
    await this.sql.query(
      `INSERT INTO job_logs (job_id, level, message, attempt, data)
       SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::text[], $4::int[], $5::jsonb[])`,
      [
        lines.map((l) => l.jobId),
        lines.map((l) => l.level),
        lines.map((l) => l.message),
        lines.map((l) => l.attempt),
        lines.map((l) => (l.data ? JSON.stringify(l.data) : null)),
      ], tx
    );
  }


  /** Results of a job's direct dependencies (DESIGN §5: ctx gives them to the handler). */
  async dependencyResults(jobId: string): Promise<Array<{ id: string; ref: string | null; type: string; result: unknown }>> {
    return this.sql.query(
      `SELECT j.id, j.ref, j.type, j.result FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on_id
       WHERE d.job_id = $1 ORDER BY j.created_at, j.id`,
      [jobId]
    );
  }

  /** The connected dependency graph around a job (both directions), at most `limit` nodes. */
  async graph(id: string, limit: number): Promise<{ nodes: Array<{ id: string; ref: string | null; type: string; status: JobStatus }>; edges: Array<{ job_id: string; depends_on_id: string }> }> {
    const nodes: Array<{ id: string; ref: string | null; type: string; status: JobStatus }> = await this.sql.query(
      `WITH RECURSIVE comp(id) AS (
         SELECT $1::uuid
         UNION
         SELECT n.id FROM comp JOIN LATERAL (
           SELECT d.depends_on_id AS id FROM job_dependencies d WHERE d.job_id = comp.id
           UNION ALL
           SELECT d.job_id FROM job_dependencies d WHERE d.depends_on_id = comp.id
         ) n ON true
       )
       SELECT j.id, j.ref, j.type, j.status FROM comp JOIN jobs j ON j.id = comp.id ORDER BY j.created_at, j.id LIMIT $2`,
      [id, limit],
    );
    const edges: Array<{ job_id: string; depends_on_id: string }> = await this.sql.query(
      `SELECT job_id, depends_on_id FROM job_dependencies WHERE job_id = ANY($1::uuid[]) AND depends_on_id = ANY($1::uuid[])
       ORDER BY depends_on_id, job_id`,
      [nodes.map((n) => n.id)],
    );
    return { nodes, edges };
  }

  /** The unfinished dependencies of blocked jobs (their live WAITING_FOR_DEPENDENCIES reason). */
  async unfinishedDependencies(jobIds: string[]): Promise<Map<string, { unfinished: string[]; total: number }>> {
    const out = new Map<string, { unfinished: string[]; total: number }>();
    if (jobIds.length === 0) return out;
    const rows: Array<{ job_id: string; unfinished: string[]; total: number }> = await this.sql.query(
      `SELECT d.job_id, count(*)::int AS total,
              coalesce(array_agg(d.depends_on_id ORDER BY j.created_at, j.id) FILTER (WHERE j.status <> 'completed'), '{}') AS unfinished
       FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on_id
       WHERE d.job_id = ANY($1::uuid[]) GROUP BY d.job_id`,
      [jobIds],
    );
    for (const r of rows) out.set(r.job_id, { unfinished: r.unfinished, total: r.total });
    return out;
  }

  /** A job's published events after `afterSequence` (each is a job_logs row), in order. */
  async eventsSince(jobId: string, afterSequence: number, limit: number): Promise<Array<{ event: JobEventName; data: JobEvent['data'] }>> {
    return this.sql.query(
      `SELECT event, data FROM job_logs WHERE job_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`,
      [jobId, afterSequence, limit],
    );
  }
}

/** The entity of a job just inserted from `draft`: what the draft holds, plus the database's times. */
function newJobRow(draft: NewJob, createdAt: Date, queuedAt: Date | null): Job {
  return Object.assign(new Job(), {
    id: draft.id,
    type: draft.type,
    priority: draft.priority,
    status: draft.status,
    payload: draft.payload,
    cpuUnits: draft.cpuUnits,
    memoryMb: draft.memoryMb,
    maxAttempts: draft.maxAttempts,
    backoffMultiplier: draft.backoffMultiplier,
    initialDelayMs: draft.initialDelayMs,
    maxDelayMs: draft.maxDelayMs,
    timeoutSeconds: draft.timeoutSeconds,
    idempotencyKey: draft.idempotencyKey,
    concurrencyKey: draft.concurrencyKey,
    ref: draft.ref,
    attempts: 0,
    attemptBase: 0,
    pendingDependencies: draft.pendingDependencies,
    result: null,
    error: draft.error,
    waitingReason: draft.waitingReason,
    workerId: null,
    allocated: false,
    placedAt: null,
    queuedAt,
    eventSeq: 1,
    createdAt,
    updatedAt: createdAt,
    startedAt: null,
    completedAt: draft.completedAt,
    nextRunAt: draft.nextRunAt,
    runAt: draft.runAt,
    scheduleId: draft.scheduleId ?? null,
    scheduledFor: draft.scheduledFor ?? null,
  } satisfies Job);
}
