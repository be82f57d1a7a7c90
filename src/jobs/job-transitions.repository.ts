import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { WAITING } from '../common/domain/waiting-reasons.js';
import { Sql } from '../database/sql.js';
import { statusAmong } from '../database/status-by-id.js';
import { transition } from './domain/job-state.js';
import { RELEASED_JOB_COLUMNS, rowToReleasedJob, type AfterRelease, type ReleasedJob } from './released-starts.js';
import type { JobErrorInfo } from './entities/job.entity.js';
import {
  ACTOR_DATA,
  INSERT_LOGS,
  LOG_EVENT,
  LOG_FLAT,
  mergeMoved,
  MOVED_JOB_COLUMNS,
  NOTHING_MOVED,
  ONE,
  RESULT,
  RESULT_FLAT,
  RETURNING_FLAT,
  rowToMovedJob,
  runTransition,
  type Moved,
  type MovedJob,
} from './transition-sql.js';
import { followedBy, guardOf } from './transition-guard.js';

/** DESIGN §10's SCHEDULED waiting reason as SQL, for an instant expression (the shape of domain/run-at.ts scheduledReason). */
const SCHEDULED_REASON = (at: string) => `jsonb_build_object('code', '${WAITING.SCHEDULED}',
  'message', 'delayed: may start at ' || to_char(${at} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'until', to_char(${at} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

/** The moves of this file's statements, checked against the state machine when the module loads; their guards come from it. */
const COMPLETE = guardOf('complete', transition('running', 'completed'));
const RELEASE = guardOf('releaseDependents', transition('blocked', ['ready', 'pending']));
const FAIL = guardOf('fail', transition('running', ['failed', 'timeout']));
followedBy('fail', transition(['failed', 'timeout'], 'pending')); // a retry due: the same UPDATE goes on to pending
const PROMOTE = guardOf('promoteDue', transition('pending', ['ready', 'blocked']));

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
  /** The attempt does not count against the run budget (`attempt_base` + 1): its worker let go of it (JobFailureService.fail). */
  givenBack?: boolean;
}

/** The event of an attempt that ended badly, for a row of alias `row` with an `outcome` column: job_timeout or job_failed. */
const FAILURE_EVENT = (row: string) => `CASE WHEN ${row}.outcome = 'timeout' THEN 'job_timeout' ELSE 'job_failed' END`;

/**
 * Every statement that moves a job between states after it started (DESIGN §3): each one guarded by
 * the state it expects, each writing a log row per event, each working on many jobs at once. Starts
 * are JobStartsRepository's, cancels JobCancellationRepository's; placements are resources/' PlacementRepository's.
 */
@Injectable()
export class JobTransitionsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * running -> completed, storing results and releasing resources; dependents whose last
   * unfinished dependency this was become ready at once (DAG counters, no rescans). `written.ids`:
   * the jobs the transaction completed, set once its statement answered (what to look for when its
   * COMMIT goes unanswered: CompletionOutcomeRepository).
   */
  async complete(items: ReadonlyArray<FinishItem & { result: unknown }>, afterRelease?: AfterRelease, written?: { ids: string[] }): Promise<Moved<MovedJob>> {
    if (items.length === 0) return NOTHING_MOVED;
    // Two statements in one transaction, on purpose: the release must look for dependents with a
    // snapshot taken after the completion got its row locks. A submit that depended on this job held
    // a share lock on it until it committed its edges; a single statement would keep the snapshot
    // from before that wait, miss those edges, and leave the new dependents blocked forever.
    return this.sql.transaction(async (tx) => {
      const completed = await runTransition(this.sql, 
        `WITH moved AS (
           UPDATE jobs j SET status = 'completed', result = i.result, completed_at = now(), updated_at = now(),
                  allocated = false, error = NULL, event_seq = j.event_seq + 1
           FROM unnest($1::uuid[], $2::int[], $3::jsonb[]) AS i(id, attempt, result)
           WHERE j.id = i.id AND ${COMPLETE} AND j.attempts = i.attempt
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
      const completedIds = completed.jobs.map((j) => j.id);
      if (written) written.ids = completedIds;
      const released = await this.releaseDependents(completedIds, tx);
      if (!afterRelease || !released.jobs.some((j) => j.status === 'ready')) return mergeMoved<MovedJob>(completed, released);
      return mergeMoved(completed, released, await afterRelease(released.jobs, completedIds, tx));
    });
  }

  /**
   * Counts completed dependencies off their dependents (DAG counters, no rescans); those whose last
   * unfinished dependency this was become ready at once, or pending until their run_at when that is
   * still ahead (DESIGN §10; the rule of afterDependencies in domain/first-state.ts), each with its
   * event (job_ready or job_scheduled).
   */
  private releaseDependents(completedIds: string[], tx: EntityManager): Promise<Moved<ReleasedJob>> {
    const released = `${RELEASE} AND j.pending_dependencies <= c.n`;
    const delayed = `j.run_at > now()`;
    const event = `CASE WHEN m.status = 'ready' THEN 'job_ready' ELSE 'job_scheduled' END`;
    return runTransition(this.sql, 
      `WITH counts AS (
         SELECT d.job_id, count(*)::int AS n FROM job_dependencies d WHERE d.depends_on_id = ANY($1::uuid[])
         GROUP BY d.job_id
       ), released AS (
         UPDATE jobs j SET pending_dependencies = GREATEST(j.pending_dependencies - c.n, 0),
                status = CASE WHEN ${released} THEN (CASE WHEN ${delayed} THEN 'pending' ELSE 'ready' END)::job_status ELSE j.status END,
                queued_at = CASE WHEN ${released} AND NOT coalesce(${delayed}, false) THEN now() ELSE j.queued_at END,
                updated_at = CASE WHEN ${released} THEN now() ELSE j.updated_at END,
                next_run_at = CASE WHEN ${released} AND ${delayed} THEN j.run_at ELSE j.next_run_at END,
                waiting_reason = CASE WHEN ${released} THEN (CASE WHEN ${delayed} THEN ${SCHEDULED_REASON('j.run_at')} END) ELSE j.waiting_reason END,
                event_seq = j.event_seq + CASE WHEN ${released} THEN 1 ELSE 0 END
         FROM counts c WHERE j.id = c.job_id
         ${RETURNING_FLAT}
       ), moved AS (SELECT * FROM released WHERE status IN ('ready', 'pending') AND pending_dependencies = 0),
       logged AS (
         ${INSERT_LOGS} ${LOG_FLAT('moved', `'info'`, `CASE WHEN m.status = 'ready' THEN 'dependencies completed: job is ready'
                                                          ELSE 'dependencies completed: job waits for its run_at ' || (m.event_data->>'next_run_at') END`,
                                   event)}
       )
       ${RESULT_FLAT('moved', event, RELEASED_JOB_COLUMNS)}`,
      [completedIds],
      tx,
      rowToReleasedJob,
    );
  }

  /**
   * running -> failed|timeout, then -> pending when a retry is due (retryAt), in one statement:
   * resources are released, and each step is logged and published (job_failed|job_timeout, then
   * job_retry_scheduled). An attempt given back (`givenBack`) raises `attempt_base` in the same
   * UPDATE. `skipLocked`: jobs another transaction holds are left as they are, not waited for (the
   * leader's sweeps: see JobFailureService.failMany).
   */
  async fail(items: readonly FailItem[], tx?: EntityManager, { skipLocked = false } = {}): Promise<Moved> {
    if (items.length === 0) return NOTHING_MOVED;
    // The failure's sequence number: one before job_retry_scheduled's when a retry follows.
    const failureSequence = `(s.row).event_seq - CASE WHEN s.retry_at IS NULL THEN 0 ELSE 1 END`;
    // The rows are locked first, skipping those held, and the UPDATE takes only those: it then never
    // waits, as the rows it writes are already this transaction's (ARRAY(...) is read once, before).
    const free = skipLocked ? `free AS (SELECT id FROM jobs WHERE id = ANY($1::uuid[]) FOR UPDATE SKIP LOCKED), ` : '';
    const onlyFree = skipLocked ? `AND j.id = ANY(ARRAY(SELECT id FROM free))` : '';
    return runTransition(this.sql, 
      `WITH ${free}moved AS (
         UPDATE jobs j SET status = CASE WHEN i.retry_at IS NULL THEN i.outcome ELSE 'pending' END,
                error = i.error, allocated = false, updated_at = now(), next_run_at = i.retry_at,
                attempt_base = j.attempt_base + i.given_back::int,
                completed_at = CASE WHEN i.retry_at IS NULL THEN now() END,
                waiting_reason = CASE WHEN i.retry_at IS NULL THEN NULL ELSE jsonb_build_object(
                  'code', '${WAITING.RETRY_BACKOFF}',
                  'message', 'attempt ' || j.attempts || ' of ' || (j.attempt_base + i.given_back::int + j.max_attempts) || ' ' || i.outcome || '; retry at '
                             || to_char(i.retry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'until', to_char(i.retry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) END,
                event_seq = j.event_seq + CASE WHEN i.retry_at IS NULL THEN 1 ELSE 2 END
         FROM unnest($1::uuid[], $2::int[], $3::job_status[], $4::jsonb[], $5::timestamptz[], $6::bool[]) AS i(id, attempt, outcome, error, retry_at, given_back)
         WHERE j.id = i.id AND ${FAIL} AND j.attempts = i.attempt ${onlyFree}
         RETURNING j AS row, i.outcome, i.retry_at
       ), logged AS (
         ${INSERT_LOGS}
         SELECT (s.row).id, 'error', 'attempt ' || (s.row).attempts || ' ' || s.outcome || ': ' || coalesce((s.row).error->>'message', ''),
                (s.row).attempts,
                job_event_data(s.row, s.outcome, ${failureSequence}),
                ${FAILURE_EVENT('s')},
                ${failureSequence}
         FROM moved s
         UNION ALL
         ${LOG_EVENT('moved', `'warn'`, `'retry ' || ((s.row).attempts + 1) || ' of ' || ((s.row).attempt_base + (s.row).max_attempts) || ' scheduled at ' || to_char(s.retry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`, `'job_retry_scheduled'`, 's.retry_at IS NOT NULL')}
       )
       ${RESULT('moved', `CASE WHEN m.retry_at IS NULL
           THEN jsonb_build_array(jsonb_build_object('event', ${FAILURE_EVENT('m')},
                                                     'data', job_event_data(m.row, m.outcome, (m.row).event_seq)))
           ELSE jsonb_build_array(jsonb_build_object('event', ${FAILURE_EVENT('m')},
                                                     'data', job_event_data(m.row, m.outcome, (m.row).event_seq - 1)),
                                  jsonb_build_object('event', 'job_retry_scheduled', 'data', job_event_data(m.row))) END`)}`,
      [
        items.map((i) => i.id),
        items.map((i) => i.attempt),
        items.map((i) => i.outcome),
        items.map((i) => JSON.stringify(i.error)),
        items.map((i) => i.retryAt),
        items.map((i) => i.givenBack === true),
      ],
      tx,
    );
  }

  /**
   * Makes every later statement of transaction `tx` give up on a lock it waited `ms` for (SQLSTATE
   * 55P03, isLockNotAvailable), which rolls the transaction back.
   */
  async limitLockWaits(ms: number, tx: EntityManager): Promise<void> {
    await this.sql.query(`SELECT set_config('lock_timeout', $1, true)`, [`${ms}ms`], tx);
  }

  /**
   * pending jobs whose time came -> ready (or blocked, should a dependency be unfinished): retries
   * after their backoff, delayed jobs at their run_at (DESIGN §10), earliest first. Flat, as the
   * other hot transitions (see RETURNING_FLAT): 10,000 delayed jobs may come due in one second.
   */
  async promoteDue(limit = 1000): Promise<Moved<MovedJob>> {
    const event = `CASE WHEN m.status = 'ready' THEN 'job_ready' ELSE 'job_blocked' END`;
    return runTransition(this.sql, 
      // Two reads, each an ordered range of jobs_pending_next_run_idx (one read with `IS NULL OR <=
      // now()` sorted every due job: 66 ms against 1.5 ms for 10,000 pending jobs). The UPDATE finds
      // its rows by primary key (`= ANY(ARRAY(...))`); joining `due` hashed every pending job once a
      // round (a 200-row round 17-19 ms against 11-16 ms). The log's reason joins the two small CTEs.
      `WITH due_unset AS (
         SELECT id, waiting_reason->>'code' AS reason FROM jobs WHERE status = 'pending' AND next_run_at IS NULL
         LIMIT $1 FOR UPDATE SKIP LOCKED
       ), due_timed AS (
         SELECT id, waiting_reason->>'code' AS reason FROM jobs WHERE status = 'pending' AND next_run_at <= now()
         ORDER BY next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED
       ), due AS (SELECT * FROM due_unset UNION ALL SELECT * FROM due_timed), moved AS (
         UPDATE jobs j SET status = CASE WHEN j.pending_dependencies > 0 THEN 'blocked'::job_status ELSE 'ready'::job_status END,
                queued_at = now(), updated_at = now(), next_run_at = NULL, waiting_reason = NULL, event_seq = j.event_seq + 1
         WHERE j.id = ANY(ARRAY(SELECT id FROM due)) AND ${PROMOTE}
         RETURNING ${MOVED_JOB_COLUMNS.split(', ').map((c) => `j.${c}`).join(', ')}, j.attempts, j.event_seq, job_event_data(j) AS event_data
       ), logged AS (
         ${INSERT_LOGS}
         SELECT m.id, 'info', CASE WHEN d.reason = '${WAITING.SCHEDULED}' THEN 'run_at reached' ELSE 'retry due' END || ': job is ' || m.status,
                m.attempts, m.event_data, ${event}, m.event_seq
         FROM moved m JOIN due d ON d.id = m.id
       )
       ${RESULT_FLAT('moved', event, MOVED_JOB_COLUMNS)}`,
      [limit],
      undefined,
      rowToMovedJob,
    );
  }

  /** When the earliest pending job (a retry or a delayed job) is due, if any (jobs_pending_next_run_idx). */
  async nextRetryAt(): Promise<Date | null> {
    const rows: Array<{ at: Date | null }> = await this.sql.query(
      `SELECT min(next_run_at) AS at FROM jobs WHERE status = 'pending'`
    );
    return rows[0]?.at ?? null;
  }

  /** A job's handler published progress: bumps its event sequence and records the event. */
  async progress(id: string, attempt: number, percent: number, data: Record<string, unknown> | undefined): Promise<Moved> {
    const progressData = `jsonb_build_object('progress', $3::float8) || CASE WHEN $4::jsonb IS NULL THEN '{}' ELSE jsonb_build_object('progress_data', $4::jsonb) END`;
    return runTransition(this.sql, 
      `WITH moved AS (
         UPDATE jobs j SET event_seq = j.event_seq + 1 WHERE j.id = $1 AND ${statusAmong(['running'])} AND j.attempts = $2
         RETURNING j AS row
       ), logged AS (
         ${INSERT_LOGS}
         SELECT (s.row).id, 'debug', 'progress ' || $3::text || '%', (s.row).attempts,
                job_event_data(s.row) || ${progressData},
                'job_progress', (s.row).event_seq
         FROM moved s
       )
       ${RESULT('moved', ONE(`'job_progress'`, `job_event_data(m.row) || ${progressData}`))}`,
      [id, attempt, percent, data === undefined ? null : JSON.stringify(data)],
    );
  }
}
