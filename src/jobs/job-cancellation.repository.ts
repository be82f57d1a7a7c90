import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { DEPENDENCY_FAILED } from './domain/error-codes.js';
import { transition, transitionInto } from './domain/job-state.js';
import type { JobErrorInfo } from './entities/job.entity.js';
import { ACTOR_DATA, INSERT_LOGS, LOG_EVENT, mergeMoved, NOTHING_MOVED, ONE, RESULT, runTransition, type Moved } from './transition-sql.js';
import { guardOf } from './transition-guard.js';

/** The moves of this file's statements, checked against the state machine when the module loads; their guards come from it. */
const CANCEL = guardOf('cancel', transitionInto('cancelled'));
const CANCEL_DOWNSTREAM = guardOf('cancelDownstream', transition(['pending', 'blocked', 'ready'], 'cancelled'));

/**
 * The statements that cancel jobs (DESIGN §3): one job on request, and everything downstream of a
 * job that did not complete. Guarded by the states the table moves to cancelled; a log row per event.
 */
@Injectable()
export class JobCancellationRepository {
  constructor(private readonly sql: Sql) {}

  /** Guarded cancel of one job, from any state the table moves to cancelled. A running job keeps its allocation until its handler stops. `actor`: who asked. */
  cancel(id: string, error: JobErrorInfo, message: string, tx?: EntityManager, actor: string | null = null): Promise<Moved> {
    return runTransition(this.sql, 
      `WITH moved AS (
         UPDATE jobs j SET status = 'cancelled', error = $2::jsonb, completed_at = now(), updated_at = now(),
                waiting_reason = NULL, next_run_at = NULL, event_seq = j.event_seq + 1,
                allocated = j.allocated AND j.status = 'running'
         WHERE j.id = $1 AND ${CANCEL}
         RETURNING j AS row
       ), logged AS (${INSERT_LOGS} ${LOG_EVENT('moved', `'warn'`, '$3', `'job_cancelled'`, 'true', ACTOR_DATA('$4'))} )
       ${RESULT('moved', ONE(`'job_cancelled'`, `job_event_data(m.row) || ${ACTOR_DATA('$4')}`))}`,
      [id, JSON.stringify(error), message, actor],
      tx,
    );
  }

  /**
   * Cancels every unfinished job downstream of `rootId`, transitively (DESIGN §3: DEPENDENCY_FAILED
   * with the direct dependency and the root). Linear in the edges downstream: the recursion keeps
   * each job once, and each step reads edges by their indexes (job_dependencies' n_distinct is set so
   * that a parent always reads as a handful of edges: see migration 1797030000000). `actor`: who cancelled the root, when a request did.
   */
  async cancelDownstream(rootId: string, rootOutcome: string, tx?: EntityManager, actor: string | null = null): Promise<Moved> {
    // One statement walks the edges of its snapshot. A submit that held a dependent FOR SHARE while this
    // waited for it committed a new edge below that dependent after the snapshot: the next statement
    // sees it. Again until one moves nothing (each moves at least one job to cancelled, so it ends).
    let all: Moved = NOTHING_MOVED;
    for (;;) {
      const moved = await this.cancelDownstreamOnce(rootId, rootOutcome, tx, actor);
      if (moved.jobs.length === 0) return all;
      all = mergeMoved(all, moved);
    }
  }

  private cancelDownstreamOnce(rootId: string, rootOutcome: string, tx: EntityManager | undefined, actor: string | null): Promise<Moved> {
    return runTransition(this.sql, 
      `WITH RECURSIVE down(id) AS (
         SELECT d.job_id FROM job_dependencies d WHERE d.depends_on_id = $1
         UNION
         SELECT d.job_id FROM job_dependencies d JOIN down ON d.depends_on_id = down.id
       ), up(id) AS (
         SELECT id FROM down UNION ALL SELECT $1::uuid
       ), first_parent AS (
         -- the direct dependency that did not complete: the root itself when it is one, else one upstream.
         -- A semi-join on the jobs walked: an OR of the root and an IN over the walk read the whole edge
         -- table for every job downstream (a hub of 30,000 dependents: over 30 s, its failure never stored).
         SELECT DISTINCT ON (d.job_id) d.job_id AS id, d.depends_on_id AS parent
         FROM job_dependencies d JOIN down ON down.id = d.job_id
         WHERE EXISTS (SELECT 1 FROM up WHERE up.id = d.depends_on_id)
         ORDER BY d.job_id, (d.depends_on_id = $1) DESC, d.depends_on_id
       ), moved AS (
         UPDATE jobs j SET status = 'cancelled', completed_at = now(), updated_at = now(), waiting_reason = NULL,
                next_run_at = NULL, event_seq = j.event_seq + 1, allocated = j.allocated AND j.status = 'running',
                error = jsonb_build_object('code', '${DEPENDENCY_FAILED}',
                  'message', 'dependency ' || fp.parent || ' did not complete (' || $2 || ' at ' || $1 || ')',
                  'dependency_id', fp.parent, 'root_id', $1::text)
         FROM first_parent fp
         WHERE j.id = fp.id AND ${CANCEL_DOWNSTREAM}
         RETURNING j AS row
       ), logged AS (
         ${INSERT_LOGS} ${LOG_EVENT('moved', `'warn'`, `'job cancelled: a dependency did not complete'`, `'job_cancelled'`, 'true', ACTOR_DATA('$3'))}
       )
       ${RESULT('moved', ONE(`'job_cancelled'`, `job_event_data(m.row) || ${ACTOR_DATA('$3')}`))}`,
      [rootId, rootOutcome, actor],
      tx,
    );
  }
}
