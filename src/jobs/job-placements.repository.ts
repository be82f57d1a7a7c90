import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql.js';
import { transition } from './domain/job-state.js';
import type { WaitingReason } from './entities/job.entity.js';
import { rowToRunnableJob, RUNNABLE_JOB_COLUMNS, type RunnableJob } from './job-row.js';
import { INSERT_LOGS, LOG_FLAT, NOTHING_MOVED, RESULT_FLAT, RETURNING_FLAT, runTransition, type Moved } from './transition-sql.js';
import { guardOf } from './transition-guard.js';

export interface StartItem {
  id: string;
  /** The attempt about to start (attempts + 1). */
  attempt: number;
}

export interface Placement {
  id: string;
  workerId: string;
}

/**
 * The scheduler's bookings and the starts: placement on a worker (and taking it back), the worker's
 * start of a placed job, the local lane's place-and-start, and the release of cancelled jobs'
 * resources.
 */
/**
 * The leadership fence (DESIGN §4: one scheduler at a time). A placement carries the epoch of the
 * term it was planned in; it writes only while that epoch is current, and holds the leadership row
 * FOR SHARE meanwhile, so a new leader's epoch increment waits for placements already under way and
 * every later one sees the new epoch. Null (an embedded single process) is never fenced.
 */
const FENCE = (epoch: string) => `fence AS (SELECT 1 FROM scheduler_leadership WHERE id = 1 AND epoch = ${epoch}::bigint FOR SHARE)`;
const FENCED = (epoch: string) => `(${epoch}::bigint IS NULL OR EXISTS (SELECT 1 FROM fence))`;

/** The starts' moves, checked against the state machine when the module loads. */
const START = guardOf('start', transition('ready', 'running'));
const PLACE_AND_START = guardOf('placeAndStart', transition('ready', 'running'));

@Injectable()
export class JobPlacementsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Books placed jobs on their workers (ready, not yet allocated). No event: the job stays ready.
   * Fenced by the leadership `epoch` (null: unfenced); `leading` is false when it was not the current one.
   */
  async place(placements: readonly Placement[], epoch: number | null): Promise<{ leading: boolean; placed: Array<{ id: string; workerId: string; attempts: number }> }> {
    if (placements.length === 0) return { leading: true, placed: [] };
    const rows: Array<{ id: string | null; worker_id: string; attempts: number; leading: boolean }> = await this.sql.query(
      `WITH ${FENCE('$3')}, placed AS (
         UPDATE jobs j SET allocated = true, worker_id = p.worker_id, placed_at = now(), waiting_reason = NULL
         FROM unnest($1::uuid[], $2::varchar[]) AS p(id, worker_id)
         WHERE j.id = p.id AND j.status = 'ready' AND NOT j.allocated AND ${FENCED('$3')}
         RETURNING j.id, j.worker_id, j.attempts
       ) SELECT placed.*, ${FENCED('$3')} AS leading FROM (SELECT 1) AS one LEFT JOIN placed ON true`,
      [placements.map((p) => p.id), placements.map((p) => p.workerId), epoch]
    );
    const placed = rows.filter((r) => r.id !== null).map((r) => ({ id: r.id!, workerId: r.worker_id, attempts: r.attempts }));
    return { leading: rows[0]?.leading ?? false, placed };
  }

  /**
   * Takes placed-but-not-started jobs back from a worker (lost, stopping), so they are placed again.
   * Fenced like `place` when the scheduler does it; a stopping worker giving back its own passes null.
   */
  async unplace(ids: readonly string[], epoch: number | null): Promise<{ leading: boolean; taken: string[] }> {
    if (ids.length === 0) return { leading: true, taken: [] };
    const rows: Array<{ id: string | null; leading: boolean }> = await this.sql.query(
      `WITH ${FENCE('$2')}, taken AS (
         UPDATE jobs SET allocated = false, placed_at = NULL, worker_id = NULL
         WHERE id = ANY($1::uuid[]) AND status = 'ready' AND allocated AND ${FENCED('$2')} RETURNING id
       ) SELECT taken.id, ${FENCED('$2')} AS leading FROM (SELECT 1) AS one LEFT JOIN taken ON true`,
      [ids, epoch]
    );
    return { leading: rows[0]?.leading ?? false, taken: rows.filter((r) => r.id !== null).map((r) => r.id!) };
  }

  /** Whether `epoch` is the current leadership epoch. */
  async isCurrentEpoch(epoch: number): Promise<boolean> {
    const rows: Array<{ current: boolean }> = await this.sql.query(`SELECT epoch = $1::bigint AS current FROM scheduler_leadership WHERE id = 1`, [epoch]);
    return rows[0]?.current ?? false;
  }

  /** ready -> running on this worker, for jobs placed here and not started yet. */
  async start(items: readonly StartItem[], workerId: string): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    if (items.length === 0) return { ...NOTHING_MOVED, withDependencies: new Set() };
    return this.startWhere(
      `FROM unnest($1::uuid[], $2::int[]) AS i(id, attempt)
       WHERE j.id = i.id AND ${START} AND j.allocated AND j.worker_id = $3 AND j.attempts = i.attempt - 1`,
      [items.map((i) => i.id), items.map((i) => i.attempt), workerId],
    );
  }

  /**
   * ready (not placed) -> placed on `workerId` and running there, in one statement: the scheduler's
   * hand-over to the worker of its own process, which needs no queue in between. Only while that
   * worker is `active` (a draining one takes no new work), and fenced by the leadership `epoch` like
   * `place` (a deposed leader starts nothing).
   */
  async placeAndStart(ids: readonly string[], workerId: string, epoch: number | null): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
    if (ids.length === 0) return { ...NOTHING_MOVED, withDependencies: new Set() };
    return this.startWhere(
      `WHERE j.id = ANY($1::uuid[]) AND ${PLACE_AND_START} AND NOT j.allocated
         AND EXISTS (SELECT 1 FROM workers w WHERE w.id = $3 AND w.status = 'active') AND ${FENCED('$2')}`,
      [ids, epoch, workerId],
      `, allocated = true, worker_id = $3, placed_at = now()`,
      `${FENCE('$2')}, `,
    );
  }

  /** ready -> running for the rows `where` picks; the worker's id is parameter `$<last>`; `ctes` go before `moved`. */
  private async startWhere(where: string, params: unknown[], place = '', ctes = ''): Promise<Moved<RunnableJob> & { withDependencies: Set<string> }> {
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
      undefined,
      rowToRunnableJob,
    );
    return { jobs, events, withDependencies: new Set(rows.filter((r) => r.has_dependencies).map((r) => r.id as string)) };
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
