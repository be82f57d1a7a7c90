import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { allocatedById, statusAmong } from '../database/status-by-id.js';
import { FENCE, FENCED } from '../database/leadership-fence.js';
import { transition } from './domain/job-state.js';
import { rowToRunnableJob, RUNNABLE_JOB_COLUMNS, type RunnableJob } from './job-row.js';
import { INSERT_LOGS, LOG_FLAT, NOTHING_MOVED, RESULT_FLAT, RETURNING_FLAT, runTransition, type Moved } from './transition-sql.js';
import { guardOf } from './transition-guard.js';

export interface StartItem {
  id: string;
  /** The attempt about to start (attempts + 1). */
  attempt: number;
}

/** The starts' moves, checked against the state machine when the module loads. */
const START = guardOf('start', transition('ready', 'running'));
const PLACE_AND_START = guardOf('placeAndStart', transition('ready', 'running'));
/** A cancelled job still holding its allocation, found by id (database/status-by-id.ts). */
const CANCELLED_HOLDING = `${statusAmong(['cancelled'], 'status')} AND ${allocatedById('allocated')}`;

/**
 * The starts of placed jobs: the worker's start of a job placed on it, the local lane's
 * place-and-start, and the release of cancelled jobs' resources once their handlers stopped. Where
 * jobs are booked (placing, taking back, the ledger's reads) is resources/' PlacementRepository.
 */
@Injectable()
export class JobStartsRepository {
  constructor(private readonly sql: Sql) {}

  /** ready -> running on this worker, for jobs placed here and not started yet. */
  async start(items: readonly StartItem[], workerId: string): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    if (items.length === 0) return { ...NOTHING_MOVED, withDependencies: new Set() };
    return this.startWhere(
      `FROM unnest($1::uuid[], $2::int[]) AS i(id, attempt)
       WHERE j.id = i.id AND ${START} AND ${allocatedById()} AND j.worker_id = $3 AND j.attempts = i.attempt - 1`,
      [items.map((i) => i.id), items.map((i) => i.attempt), workerId],
    );
  }

  /**
   * ready (not placed) -> placed on `workerId` and running there, in one statement: the scheduler's
   * hand-over to the worker of its own process, which needs no queue in between. Only while that
   * worker is `active` (a draining one takes no new work), and fenced by the leadership `epoch` like
   * `place` (a deposed leader starts nothing).
   */
  async placeAndStart(ids: readonly string[], workerId: string, epoch: number | null, tx?: EntityManager): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    if (ids.length === 0) return { ...NOTHING_MOVED, withDependencies: new Set() };
    return this.startWhere(
      `WHERE j.id = ANY($1::uuid[]) AND ${PLACE_AND_START} AND NOT j.allocated
         AND EXISTS (SELECT 1 FROM workers w WHERE w.id = $3 AND w.status = 'active') AND ${FENCED('$2')}`,
      [ids, epoch, workerId],
      `, allocated = true, worker_id = $3, placed_at = now()`,
      `${FENCE('$2')}, `,
      tx,
    );
  }

  /** ready -> running for the rows `where` picks; the worker's id is parameter `$<last>`; `ctes` go before `moved`. */
  private async startWhere(where: string, params: unknown[], place = '', ctes = '', tx?: EntityManager): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    const worker = `$${params.length}::text`;
    const { jobs, events, rows } = await runTransition(
      this.sql,
      `WITH ${ctes}moved AS (
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
      tx,
      rowToRunnableJob,
    );
    return { jobs, events, withDependencies: new Set(rows.filter((r) => r.has_dependencies).map((r) => r.id as string)) };
  }

  /**
   * Releases the resources of cancelled jobs whose handlers stopped, held on `holder.workerId` (and by
   * `holder.attempt` when given): a late release of an earlier placement (a worker that heard of the
   * cancel late, a release whose reply was lost) must not free the job's later attempt, retried and
   * cancelled again on another worker meanwhile. `skipLocked`: jobs another transaction holds are left
   * as they are, not waited for (the leader's sweep; the stale-cancel release finds them again after
   * the grace period).
   */
  async releaseCancelled(ids: readonly string[], holder: { workerId: string; attempt?: number }, { skipLocked = false } = {}): Promise<number> {
    if (ids.length === 0) return 0;
    const free = skipLocked ? `free AS (SELECT id FROM jobs WHERE id = ANY($1::uuid[]) FOR UPDATE SKIP LOCKED), ` : '';
    const onlyFree = skipLocked ? `AND id = ANY(ARRAY(SELECT id FROM free))` : '';
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH ${free}released AS (
         UPDATE jobs SET allocated = false
         WHERE id = ANY($1::uuid[]) AND ${CANCELLED_HOLDING} AND worker_id = $2 AND ($3::int IS NULL OR attempts = $3::int) ${onlyFree}
         RETURNING id
       ) SELECT id FROM released`,
      [ids, holder.workerId, holder.attempt ?? null]
    );
    return rows.length;
  }
}
