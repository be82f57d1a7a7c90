import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import type { JobEvent, JobEventName } from '../events/job-event-bus.js';
import type { JobStatus } from './domain/job-state.js';
import type { Job, JobErrorInfo, WaitingReason } from './entities/job.entity.js';
import { JOB_COLUMNS, rowToJob, rowToRunnableJob, RUNNABLE_JOB_COLUMNS, type JobRow, type RunnableJob } from './job-row.js';

/** What publishing and the run metrics read of a moved job: all a completion returns of it. */
export type MovedJob = Pick<Job, 'id' | 'type' | 'status' | 'startedAt'>;

/** Jobs as they are after a statement (whole, or only what `MovedJob` names), and the events it wrote (in order per job). */
export interface Moved<J extends MovedJob = Job> {
  jobs: J[];
  events: JobEvent[];
}

export const NOTHING_MOVED: Moved = { jobs: [], events: [] };

export function mergeMoved<J extends MovedJob>(...parts: Array<Moved<J>>): Moved<J> {
  return { jobs: parts.flatMap((p) => p.jobs), events: parts.flatMap((p) => p.events) };
}

/**
 * `{"actor": <name>}` for a change a request made (an SQL text expression: a parameter or a column),
 * `{}` when it is null: merged into the data of the log rows and events a statement writes, so every
 * state change a request causes says which API key's holder caused it.
 */
export const ACTOR_DATA = (expression: string) => `jsonb_strip_nulls(jsonb_build_object('actor', ${expression}::text))`;

/** The events of a moved job `m`, as a JSON array: one event named `name` (an SQL expression) by default. */
const ONE = (name: string, data = 'job_event_data(m.row)') => `jsonb_build_array(jsonb_build_object('event', ${name}, 'data', ${data}))`;

/**
 * The tail every transition statement ends with: the rows of CTE `moved` (`row` = the whole jobs
 * row after the update) with their events, computed from the row itself. The log rows written by
 * the statement's `logged` CTE hold the same data; the events are not read back from them, because
 * joining the two would make PostgreSQL re-aggregate per row (quadratic in the batch size).
 */
const RESULT = (moved: string, events: string) => `SELECT (m.row).*, ${events} AS events FROM ${moved} m`;

/** A log row per moved job, recording `event` with the job's event data (the same row is the event), plus `extra` (jsonb). */
const LOG_EVENT = (source: string, level: string, message: string, event: JobEventName | string, filter = 'true', extra = `'{}'::jsonb`) => `
  SELECT (s.row).id, ${level}, ${message}, (s.row).attempts, job_event_data(s.row) || ${extra}, ${event}, (s.row).event_seq
  FROM ${source} s WHERE ${filter}`;

const INSERT_LOGS = `INSERT INTO job_logs (job_id, level, message, attempt, data, event, sequence)`;

/*
 * The hottest transitions (start, complete, release) return flat columns instead of `j AS row`:
 * expanding `(m.row).*` deforms the whole composite once per column, and that, with the event data
 * computed twice, was a third of a completion's cost (measured: 93 -> 63 us a job in batches of 200).
 * Their event data is computed once, off the new row, in the RETURNING list.
 */
/** RETURNING list of a flat transition: the job's columns and its event data. */
const RETURNING_FLAT = `RETURNING j.*, job_event_data(j) AS event_data`;
/** A log row per job of flat CTE `source`, recording `event` with its event data. */
const LOG_FLAT = (source: string, level: string, message: string, event: JobEventName | string) => `
  SELECT m.id, ${level}, ${message}, m.attempts, m.event_data, ${event}, m.event_seq FROM ${source} m`;
/** The rows of flat CTE `source` with their one event each; `columns` = only those (MovedJob's), not every one. */
const RESULT_FLAT = (source: string, event: string, columns = JOB_COLUMNS) =>
  `SELECT ${columns}, jsonb_build_array(jsonb_build_object('event', ${event}, 'data', m.event_data)) AS events FROM ${source} m`;
/** The columns of `MovedJob`: completions return no more (node-postgres would parse ~30 columns a row, seven of them timestamps, for nothing). */
const MOVED_JOB_COLUMNS = 'id, type, status, started_at';
const rowToMovedJob = (row: JobRow): MovedJob => ({
  id: row.id as string,
  type: row.type as string,
  status: row.status as JobStatus,
  startedAt: (row.started_at as Date | null) ?? null,
});

export interface StartItem {
  id: string;
  /** The attempt about to start (attempts + 1). */
  attempt: number;
}

export interface FinishItem {
  id: string;
  /** The attempt that ended. */
  attempt: number;
}

export interface FailItem extends FinishItem {
  outcome: 'failed' | 'timeout';
  error: JobErrorInfo;
  /** When to run again, or null when the failure is final. */
  retryAt: Date | null;
}

export interface Placement {
  id: string;
  workerId: string;
}

/**
 * (Statements whose rows matter are written as `WITH x AS (UPDATE ... RETURNING) SELECT ...`: TypeORM
 * returns `[rows, count]` for a bare UPDATE or DELETE.)
 *
 * Every statement that moves a job between states (DESIGN §3): each one guarded by the state it
 * expects, each writing a log row per event, each working on many jobs at once.
 */
@Injectable()
export class JobTransitionsRepository {
  constructor(private readonly sql: Sql) {}

  private run(sql: string, params: unknown[], tx?: EntityManager): Promise<Moved & { rows: JobRow[] }>;
  private run<J extends MovedJob>(sql: string, params: unknown[], tx: EntityManager | undefined, toJob: (row: JobRow) => J): Promise<Moved<J> & { rows: JobRow[] }>;
  private async run(
    sql: string,
    params: unknown[],
    tx?: EntityManager,
    toJob: (row: JobRow) => MovedJob = rowToJob,
  ): Promise<Moved<MovedJob> & { rows: JobRow[] }> {
    const rows: Array<JobRow & { events: Array<{ event: JobEventName; data: JobEvent['data'] }> | null }> = await this.sql.query(sql, params, tx);
    const jobs: MovedJob[] = [];
    const events: JobEvent[] = [];
    for (const row of rows) {
      const job = toJob(row);
      jobs.push(job);
      for (const { event, data } of row.events ?? []) events.push({ event, jobId: job.id, data });
    }
    return { jobs, events, rows };
  }

  /** Guarded cancel of one job. A running job keeps its allocation until its handler stops. `actor`: who asked. */
  cancel(id: string, from: readonly JobStatus[], error: JobErrorInfo, message: string, tx?: EntityManager, actor: string | null = null): Promise<Moved> {
    return this.run(
      `WITH moved AS (
         UPDATE jobs j SET status = 'cancelled', error = $3::jsonb, completed_at = now(), updated_at = now(),
                waiting_reason = NULL, next_run_at = NULL, event_seq = j.event_seq + 1,
                allocated = j.allocated AND j.status = 'running'
         WHERE j.id = $1 AND j.status = ANY($2::job_status[])
         RETURNING j AS row
       ), logged AS (${INSERT_LOGS} ${LOG_EVENT('moved', `'warn'`, '$4', `'job_cancelled'`, 'true', ACTOR_DATA('$5'))} )
       ${RESULT('moved', ONE(`'job_cancelled'`, `job_event_data(m.row) || ${ACTOR_DATA('$5')}`))}`,
      [id, from, JSON.stringify(error), message, actor],
      tx,
    );
  }

  /**
   * Cancels every unfinished job downstream of `rootId`, transitively (DESIGN §3: DEPENDENCY_FAILED
   * with the direct dependency and the root). Linear in the edges downstream: the recursion keeps
   * each job once. `actor`: who cancelled the root, when a request did.
   */
  cancelDownstream(rootId: string, rootOutcome: string, tx?: EntityManager, actor: string | null = null): Promise<Moved> {
    return this.run(
      `WITH RECURSIVE down(id) AS (
         SELECT d.job_id FROM job_dependencies d WHERE d.depends_on_id = $1
         UNION
         SELECT d.job_id FROM job_dependencies d JOIN down ON d.depends_on_id = down.id
       ), first_parent AS (
         -- the direct dependency that did not complete: the root itself when it is one, else one upstream
         SELECT DISTINCT ON (d.job_id) d.job_id AS id, d.depends_on_id AS parent
         FROM job_dependencies d JOIN down ON down.id = d.job_id
         WHERE d.depends_on_id = $1 OR d.depends_on_id IN (SELECT id FROM down)
         ORDER BY d.job_id, (d.depends_on_id = $1) DESC, d.depends_on_id
       ), moved AS (
         UPDATE jobs j SET status = 'cancelled', completed_at = now(), updated_at = now(), waiting_reason = NULL,
                next_run_at = NULL, event_seq = j.event_seq + 1, allocated = j.allocated AND j.status = 'running',
                error = jsonb_build_object('code', 'DEPENDENCY_FAILED',
                  'message', 'dependency ' || fp.parent || ' did not complete (' || $2 || ' at ' || $1 || ')',
                  'dependency_id', fp.parent, 'root_id', $1::text)
         FROM first_parent fp
         WHERE j.id = fp.id AND j.status IN ('pending', 'blocked', 'ready')
         RETURNING j AS row
       ), logged AS (
         ${INSERT_LOGS} ${LOG_EVENT('moved', `'warn'`, `'job cancelled: a dependency did not complete'`, `'job_cancelled'`, 'true', ACTOR_DATA('$3'))}
       )
       ${RESULT('moved', ONE(`'job_cancelled'`, `job_event_data(m.row) || ${ACTOR_DATA('$3')}`))}`,
      [rootId, rootOutcome, actor],
      tx,
    );
  }

  /** Books placed jobs on their workers (ready, not yet allocated). No event: the job stays ready. */
  async place(placements: readonly Placement[]): Promise<Array<{ id: string; workerId: string; attempts: number }>> {
    if (placements.length === 0) return [];
    const rows: Array<{ id: string; worker_id: string; attempts: number }> = await this.sql.query(
      `WITH placed AS (
         UPDATE jobs j SET allocated = true, worker_id = p.worker_id, placed_at = now(), waiting_reason = NULL
         FROM unnest($1::uuid[], $2::varchar[]) AS p(id, worker_id)
         WHERE j.id = p.id AND j.status = 'ready' AND NOT j.allocated
         RETURNING j.id, j.worker_id, j.attempts
       ) SELECT * FROM placed`,
      [placements.map((p) => p.id), placements.map((p) => p.workerId)]
    );
    return rows.map((r) => ({ id: r.id, workerId: r.worker_id, attempts: r.attempts }));
  }

  /** Takes placed-but-not-started jobs back from a worker (lost, stopping), so they are placed again. */
  async unplace(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH taken AS (
         UPDATE jobs SET allocated = false, placed_at = NULL, worker_id = NULL
         WHERE id = ANY($1::uuid[]) AND status = 'ready' AND allocated RETURNING id
       ) SELECT id FROM taken`,
      [ids]
    );
    return rows.map((r) => r.id);
  }

  /** ready -> running on this worker, for jobs placed here and not started yet. */
  async start(items: readonly StartItem[], workerId: string): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    if (items.length === 0) return { ...NOTHING_MOVED, withDependencies: new Set() };
    return this.startWhere(
      `FROM unnest($1::uuid[], $2::int[]) AS i(id, attempt)
       WHERE j.id = i.id AND j.status = 'ready' AND j.allocated AND j.worker_id = $3 AND j.attempts = i.attempt - 1`,
      [items.map((i) => i.id), items.map((i) => i.attempt), workerId],
    );
  }

  /**
   * ready (not placed) -> placed on `workerId` and running there, in one statement: the scheduler's
   * hand-over to the worker of its own process, which needs no queue in between. Only while that
   * worker is `active` (a draining one takes no new work).
   */
  async placeAndStart(ids: readonly string[], workerId: string): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    if (ids.length === 0) return { ...NOTHING_MOVED, withDependencies: new Set() };
    return this.startWhere(
      `WHERE j.id = ANY($1::uuid[]) AND j.status = 'ready' AND NOT j.allocated
         AND EXISTS (SELECT 1 FROM workers w WHERE w.id = $2 AND w.status = 'active')`,
      [ids, workerId],
      `, allocated = true, worker_id = $2, placed_at = now()`,
    );
  }

  /** ready -> running for the rows `where` picks; the worker's id is parameter `$<last>`. */
  private async startWhere(where: string, params: unknown[], place = ''): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    const worker = `$${params.length}::text`;
    const { jobs, events, rows } = await this.run(
      `WITH moved AS (
         UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, started_at = now(), updated_at = now(),
                waiting_reason = NULL, next_run_at = NULL, event_seq = j.event_seq + 1${place}
         ${where}
         ${RETURNING_FLAT}
       ), logged AS (
         ${INSERT_LOGS} ${LOG_FLAT('moved', `'info'`, `'attempt ' || m.attempts || ' started on worker ' || ${worker}`, `'job_started'`)}
       )
       SELECT r.*, EXISTS (SELECT 1 FROM job_dependencies d WHERE d.job_id = r.id) AS has_dependencies
       FROM (${RESULT_FLAT('moved', `'job_started'`, RUNNABLE_JOB_COLUMNS)}) r`,
      params,
      undefined,
      rowToRunnableJob,
    );
    return { jobs, events, withDependencies: new Set(rows.filter((r) => r.has_dependencies).map((r) => r.id as string)) };
  }

  /**
   * running -> completed, storing results and releasing resources; dependents whose last
   * unfinished dependency this was become ready at once (DAG counters, no rescans).
   */
  async complete(items: ReadonlyArray<FinishItem & { result: unknown }>): Promise<Moved<MovedJob>> {
    if (items.length === 0) return NOTHING_MOVED;
    // Two statements in one transaction, on purpose: the release must look for dependents with a
    // snapshot taken after the completion got its row locks. A submit that depended on this job held
    // a share lock on it until it committed its edges; a single statement would keep the snapshot
    // from before that wait, miss those edges, and leave the new dependents blocked forever.
    return this.sql.transaction(async (tx) => {
      const completed = await this.run(
        `WITH moved AS (
           UPDATE jobs j SET status = 'completed', result = i.result, completed_at = now(), updated_at = now(),
                  allocated = false, error = NULL, event_seq = j.event_seq + 1
           FROM unnest($1::uuid[], $2::int[], $3::jsonb[]) AS i(id, attempt, result)
           WHERE j.id = i.id AND j.status = 'running' AND j.attempts = i.attempt
           ${RETURNING_FLAT}
         ), logged AS (
           ${INSERT_LOGS} ${LOG_FLAT('moved', `'info'`, `'attempt ' || m.attempts || ' completed'`, `'job_completed'`)}
         )
         ${RESULT_FLAT('moved', `'job_completed'`, MOVED_JOB_COLUMNS)}`,
        [items.map((i) => i.id), items.map((i) => i.attempt), items.map((i) => JSON.stringify(i.result ?? null))],
        tx,
        rowToMovedJob,
      );
      if (completed.jobs.length === 0) return completed;
      const released = await this.releaseDependents(completed.jobs.map((j) => j.id), tx);
      return mergeMoved(completed, released);
    });
  }

  /**
   * Counts completed dependencies off their dependents (DAG counters, no rescans); those whose last
   * unfinished dependency this was become ready, with their event.
   */
  private releaseDependents(completedIds: string[], tx: EntityManager): Promise<Moved<MovedJob>> {
    return this.run(
      `WITH counts AS (
         SELECT d.job_id, count(*)::int AS n FROM job_dependencies d WHERE d.depends_on_id = ANY($1::uuid[])
         GROUP BY d.job_id
       ), released AS (
         UPDATE jobs j SET pending_dependencies = GREATEST(j.pending_dependencies - c.n, 0),
                status = CASE WHEN j.status = 'blocked' AND j.pending_dependencies <= c.n THEN 'ready' ELSE j.status END,
                queued_at = CASE WHEN j.status = 'blocked' AND j.pending_dependencies <= c.n THEN now() ELSE j.queued_at END,
                updated_at = CASE WHEN j.status = 'blocked' AND j.pending_dependencies <= c.n THEN now() ELSE j.updated_at END,
                waiting_reason = CASE WHEN j.status = 'blocked' AND j.pending_dependencies <= c.n THEN NULL ELSE j.waiting_reason END,
                event_seq = j.event_seq + CASE WHEN j.status = 'blocked' AND j.pending_dependencies <= c.n THEN 1 ELSE 0 END
         FROM counts c WHERE j.id = c.job_id
         ${RETURNING_FLAT}
       ), ready AS (SELECT * FROM released WHERE status = 'ready' AND pending_dependencies = 0),
       logged AS (
         ${INSERT_LOGS} ${LOG_FLAT('ready', `'info'`, `'dependencies completed: job is ready'`, `'job_ready'`)}
       )
       ${RESULT_FLAT('ready', `'job_ready'`, MOVED_JOB_COLUMNS)}`,
      [completedIds],
      tx,
      rowToMovedJob,
    );
  }

  /**
   * running -> failed|timeout, then -> pending when a retry is due (retryAt), in one statement:
   * resources are released, and each step is logged and published (job_failed|job_timeout, then
   * job_retry_scheduled).
   */
  async fail(items: readonly FailItem[], tx?: EntityManager): Promise<Moved> {
    if (items.length === 0) return NOTHING_MOVED;
    return this.run(
      `WITH moved AS (
         UPDATE jobs j SET status = CASE WHEN i.retry_at IS NULL THEN i.outcome ELSE 'pending' END,
                error = i.error, allocated = false, updated_at = now(), next_run_at = i.retry_at,
                completed_at = CASE WHEN i.retry_at IS NULL THEN now() END,
                waiting_reason = CASE WHEN i.retry_at IS NULL THEN NULL ELSE jsonb_build_object(
                  'code', 'RETRY_BACKOFF',
                  'message', 'attempt ' || j.attempts || ' of ' || j.max_attempts || ' ' || i.outcome || '; retry at '
                             || to_char(i.retry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'until', to_char(i.retry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) END,
                event_seq = j.event_seq + CASE WHEN i.retry_at IS NULL THEN 1 ELSE 2 END
         FROM unnest($1::uuid[], $2::int[], $3::job_status[], $4::jsonb[], $5::timestamptz[]) AS i(id, attempt, outcome, error, retry_at)
         WHERE j.id = i.id AND j.status = 'running' AND j.attempts = i.attempt
         RETURNING j AS row, i.outcome, i.retry_at
       ), logged AS (
         ${INSERT_LOGS}
         SELECT (s.row).id, 'error', 'attempt ' || (s.row).attempts || ' ' || s.outcome || ': ' || coalesce((s.row).error->>'message', ''),
                (s.row).attempts,
                job_event_data(s.row, s.outcome, (s.row).event_seq - CASE WHEN s.retry_at IS NULL THEN 0 ELSE 1 END),
                CASE WHEN s.outcome = 'timeout' THEN 'job_timeout' ELSE 'job_failed' END,
                (s.row).event_seq - CASE WHEN s.retry_at IS NULL THEN 0 ELSE 1 END
         FROM moved s
         UNION ALL
         ${LOG_EVENT('moved', `'warn'`, `'retry ' || ((s.row).attempts + 1) || ' of ' || (s.row).max_attempts || ' scheduled at ' || to_char(s.retry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`, `'job_retry_scheduled'`, 's.retry_at IS NOT NULL')}
       )
       ${RESULT('moved', `CASE WHEN m.retry_at IS NULL
           THEN jsonb_build_array(jsonb_build_object('event', CASE WHEN m.outcome = 'timeout' THEN 'job_timeout' ELSE 'job_failed' END,
                                                     'data', job_event_data(m.row, m.outcome, (m.row).event_seq)))
           ELSE jsonb_build_array(jsonb_build_object('event', CASE WHEN m.outcome = 'timeout' THEN 'job_timeout' ELSE 'job_failed' END,
                                                     'data', job_event_data(m.row, m.outcome, (m.row).event_seq - 1)),
                                  jsonb_build_object('event', 'job_retry_scheduled', 'data', job_event_data(m.row))) END`)}`,
      [
        items.map((i) => i.id),
        items.map((i) => i.attempt),
        items.map((i) => i.outcome),
        items.map((i) => JSON.stringify(i.error)),
        items.map((i) => i.retryAt),
      ],
      tx,
    );
  }

  /** pending jobs whose retry is due -> ready (or blocked, should a dependency be unfinished). */
  async promoteDue(limit = 1000): Promise<Moved> {
    return this.run(
      `WITH due AS (
         SELECT id FROM jobs WHERE status = 'pending' AND (next_run_at IS NULL OR next_run_at <= now())
         ORDER BY next_run_at NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED
       ), moved AS (
         UPDATE jobs j SET status = CASE WHEN j.pending_dependencies > 0 THEN 'blocked'::job_status ELSE 'ready'::job_status END,
                queued_at = now(), updated_at = now(), next_run_at = NULL, waiting_reason = NULL, event_seq = j.event_seq + 1
         FROM due WHERE j.id = due.id AND j.status = 'pending'
         RETURNING j AS row
       ), logged AS (
         ${INSERT_LOGS}
         ${LOG_EVENT('moved', `'info'`, `'retry due: job is ' || (s.row).status`, `CASE WHEN (s.row).status = 'ready' THEN 'job_ready' ELSE 'job_blocked' END`)}
       )
       ${RESULT('moved', ONE(`CASE WHEN (m.row).status = 'ready' THEN 'job_ready' ELSE 'job_blocked' END`))}`,
      [limit],
    );
  }

  /** When the earliest pending retry is due, if any. */
  async nextRetryAt(): Promise<Date | null> {
    const rows: Array<{ at: Date | null }> = await this.sql.query(
      `SELECT min(next_run_at) AS at FROM jobs WHERE status = 'pending'`
    );
    return rows[0]?.at ?? null;
  }

  /** A job's handler published progress: bumps its event sequence and records the event. */
  async progress(id: string, attempt: number, percent: number, data: Record<string, unknown> | undefined): Promise<Moved> {
    return this.run(
      `WITH moved AS (
         UPDATE jobs j SET event_seq = j.event_seq + 1 WHERE j.id = $1 AND j.status = 'running' AND j.attempts = $2
         RETURNING j AS row
       ), logged AS (
         ${INSERT_LOGS}
         SELECT (s.row).id, 'debug', 'progress ' || $3::text || '%', (s.row).attempts,
                job_event_data(s.row) || jsonb_build_object('progress', $3::float8)
                  || CASE WHEN $4::jsonb IS NULL THEN '{}' ELSE jsonb_build_object('progress_data', $4::jsonb) END,
                'job_progress', (s.row).event_seq
         FROM moved s
       )
       ${RESULT('moved', ONE(`'job_progress'`, `job_event_data(m.row) || jsonb_build_object('progress', $3::float8)
                  || CASE WHEN $4::jsonb IS NULL THEN '{}' ELSE jsonb_build_object('progress_data', $4::jsonb) END`))}`,
      [id, attempt, percent, data === undefined ? null : JSON.stringify(data)],
    );
  }

  /** Releases the resources of cancelled jobs whose handlers stopped. */
  async releaseCancelled(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH released AS (
         UPDATE jobs SET allocated = false WHERE id = ANY($1::uuid[]) AND status = 'cancelled' AND allocated RETURNING id
       ) SELECT id FROM released`,
      [ids]
    );
    return rows.length;
  }

  /** Releases cancelled jobs whose handlers did not stop within the grace period. */
  async releaseStaleCancelled(graceMs: number): Promise<number> {
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH released AS (
         UPDATE jobs SET allocated = false
         WHERE allocated AND status = 'cancelled' AND completed_at < now() - make_interval(secs => $1::float8 / 1000)
         RETURNING id
       ) SELECT id FROM released`,
      [graceMs]
    );
    return rows.length;
  }

  /** Writes waiting reasons (no event: the job's state does not change). */
  async setWaitingReasons(items: ReadonlyArray<{ id: string; reason: WaitingReason }>): Promise<void> {
    if (items.length === 0) return;
    await this.sql.query(
      `UPDATE jobs j SET waiting_reason = w.reason
       FROM unnest($1::uuid[], $2::jsonb[]) AS w(id, reason)
       WHERE j.id = w.id AND j.status = 'ready' AND NOT j.allocated`,
      [items.map((i) => i.id), items.map((i) => JSON.stringify(i.reason))]
    );
  }
}
