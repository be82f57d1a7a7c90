import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { statusAmong } from '../database/status-by-id.js';
import { DEPENDENCY_FAILED } from './domain/error-codes.js';
import { RETRYABLE_STATUSES, transition, type JobStatus } from './domain/job-state.js';
import type { RerunStep } from './domain/rerun-plan.js';
import type { WaitingReason } from './entities/job.entity.js';
import { ACTOR_DATA, INSERT_LOGS, LOG_EVENT, NOTHING_MOVED, ONE, RESULT, runTransition, type Moved } from './transition-sql.js';
import { guardOf } from './transition-guard.js';

/**
 * Found by id (statusAmong): with statistics from before a cancellation, a plain `status = 'cancelled'`
 * made each step of the recursion walk every cancelled job, quadratic in a chain's length (16.5 s for
 * a chain of 2,000).
 */
const CANCELLED = statusAmong(['cancelled']);

/** The move of moveBack, checked against the state machine when the module loads: a manual retry's. */
const MOVE_BACK = guardOf('moveBack', transition(RETRYABLE_STATUSES, ['ready', 'blocked', 'pending']));

export interface LockedJob {
  id: string;
  status: JobStatus;
  allocated: boolean;
  run_at: Date | null;
}

export interface RerunRow extends RerunStep {
  waitingReason: WaitingReason | null;
  /** The log line the move writes. */
  message: string;
}

/**
 * The SQL of manual retries (DESIGN §13): finding what a job's end cancelled downstream, locking the
 * jobs involved upstream first (as completions and failures lock them), and the guarded move back.
 */
@Injectable()
export class JobRerunRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Jobs downstream of `rootId` cancelled by a failure upstream (`DEPENDENCY_FAILED`), reached through
   * such jobs only, whichever failure each names as its `root_id`: a job below two failed roots names
   * the first, and must come back when the second is retried after it. The plan keeps those that still
   * have a dependency failed for good (planRerun). Read without locks: the caller locks and re-checks.
   *
   * Each step is fenced (`OFFSET 0`) so that it stays what it is, whatever the planner estimates: the
   * edges of the jobs found so far by their index, each edge's job by the primary key. PostgreSQL cannot
   * estimate the status and error tests (expressions) and put them at one row, and with a table of
   * mostly such jobs it scanned the whole table at every step (a chain of 100: 7 s; of 5,000: minutes),
   * or merge-joined the whole edge index at every step.
   */
  async cancelledDownstream(rootId: string, tx: EntityManager): Promise<string[]> {
    const cascaded = (edge: string) =>
      `EXISTS (SELECT 1 FROM jobs j WHERE j.id = ${edge}.job_id AND ${CANCELLED} AND j.error->>'code' = '${DEPENDENCY_FAILED}' OFFSET 0)`;
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH RECURSIVE down(id) AS (
         SELECT d.job_id FROM job_dependencies d WHERE d.depends_on_id = $1 AND ${cascaded('d')}
         UNION
         SELECT e.job_id FROM down CROSS JOIN LATERAL (
           SELECT d.job_id FROM job_dependencies d WHERE d.depends_on_id = down.id AND ${cascaded('d')} OFFSET 0
         ) e
       )
       SELECT down.id FROM down CROSS JOIN LATERAL (SELECT j.created_at FROM jobs j WHERE j.id = down.id OFFSET 0) j
       ORDER BY j.created_at, down.id`,
      [rootId],
      tx,
    );
    return rows.map((r) => r.id);
  }

  /** The dependencies of each job (edges never change once written). */
  async dependenciesOf(ids: readonly string[], tx: EntityManager): Promise<Array<{ job_id: string; depends_on_id: string }>> {
    if (ids.length === 0) return [];
    return this.sql.query(
      `SELECT job_id, depends_on_id FROM job_dependencies WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, depends_on_id`,
      [ids],
      tx,
    );
  }

  /** Of these jobs, those with an edge (a dependency or a dependent). */
  async withEdges(ids: readonly string[], tx: EntityManager): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: Array<{ id: string }> = await this.sql.query(
      `SELECT id FROM unnest($1::uuid[]) AS t(id)
       WHERE EXISTS (SELECT 1 FROM job_dependencies d WHERE d.job_id = t.id) OR EXISTS (SELECT 1 FROM job_dependencies d WHERE d.depends_on_id = t.id)`,
      [ids],
      tx,
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Locks jobs for update until the transaction ends, in id order (one order for every retry, so two
   * retries that lock some of the same jobs never wait on each other both ways).
   */
  async lockForUpdate(ids: readonly string[], tx: EntityManager): Promise<LockedJob[]> {
    if (ids.length === 0) return [];
    return this.sql.query(`SELECT id, status, allocated, run_at FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids], tx);
  }

  /**
   * failed|timeout|cancelled -> ready|blocked|pending (pending: until its run_at, DESIGN §10), with a
   * new run budget (`attempt_base` = the runs so far), the error cleared (the logs keep it), a log line
   * and a `job_ready` / `job_blocked` / `job_scheduled` event with `retried: true` each. Guarded: a job no longer in one of those states, or still holding
   * resources, does not move.
   */
  async moveBack(rows: readonly RerunRow[], actor: string | null, tx: EntityManager): Promise<Moved> {
    if (rows.length === 0) return NOTHING_MOVED;
    const extra = `(jsonb_build_object('retried', true) || ${ACTOR_DATA('$6')})`;
    const event = (alias: string) =>
      `CASE (${alias}.row).status WHEN 'ready' THEN 'job_ready' WHEN 'pending' THEN 'job_scheduled' ELSE 'job_blocked' END`;
    return runTransition(
      this.sql,
      `WITH moved AS (
         UPDATE jobs j SET status = i.status, pending_dependencies = i.pending, waiting_reason = i.reason,
                error = NULL, completed_at = NULL, placed_at = NULL, allocated = false,
                next_run_at = CASE WHEN i.status = 'pending' THEN j.run_at END,
                queued_at = CASE WHEN i.status = 'ready' THEN now() ELSE j.queued_at END,
                attempt_base = j.attempts, updated_at = now(), event_seq = j.event_seq + 1
         FROM unnest($1::uuid[], $2::job_status[], $3::int[], $4::jsonb[], $5::text[]) AS i(id, status, pending, reason, message)
         WHERE j.id = i.id AND ${MOVE_BACK} AND NOT j.allocated
         RETURNING j AS row, i.message
       ), logged AS (
         ${INSERT_LOGS} ${LOG_EVENT('moved', `'info'`, 's.message', event('s'), 'true', extra)}
       )
       ${RESULT('moved', ONE(event('m'), `job_event_data(m.row) || ${extra}`))}`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.status),
        rows.map((r) => r.pendingDependencies),
        rows.map((r) => (r.waitingReason ? JSON.stringify(r.waitingReason) : null)),
        rows.map((r) => r.message),
        actor,
      ],
      tx,
    );
  }
}
