import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { isTerminal, JOB_STATUSES, type JobStatus } from './domain/job-state.js';

/** The finished states (isTerminal); a job in one of them never moves again by itself (a manual retry aside). */
const FINISHED_LIST = JOB_STATUSES.filter(isTerminal).map((s) => `'${s}'`).join(', ');

/** Of a job `j`: no job that has not completed depends on it (the retention's test, made at each of its two statements). */
const NO_DEPENDENT_NOT_COMPLETED = `NOT EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs u ON u.id = d.job_id WHERE d.depends_on_id = j.id AND u.status <> 'completed')`;

/**
 * The SQL of deletes (DESIGN §13): DELETE /jobs/{id} and the leader's retention. A job goes with its
 * log rows and its edges; never one that is unfinished, still holds resources, or that a job which has
 * not completed depends on. A failed, timed out or cancelled dependent may still be retried (§13), and
 * then needs this job: as its result (a completed dependency) or as a job to retry first. Deleting it
 * would drop the edge, and the dependent would run as if it had never had that dependency.
 */
@Injectable()
export class JobDeletionRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Locks a job for its delete. A submit or a retry that depends on it share-locks it first, so after
   * this lock the edges and the dependents' states read next are the ones that stay.
   */
  async lock(id: string, tx: EntityManager): Promise<{ id: string; status: JobStatus; allocated: boolean; type: string } | null> {
    const rows: Array<{ id: string; status: JobStatus; allocated: boolean; type: string }> = await this.sql.query(
      `SELECT id, status, allocated, type FROM jobs WHERE id = $1 FOR UPDATE`,
      [id],
      tx,
    );
    return rows[0] ?? null;
  }

  /** A job that depends on `id` and has not completed (unfinished, or able to run again by a retry), if any. */
  async dependentNotCompleted(id: string, tx: EntityManager): Promise<{ id: string; status: JobStatus } | null> {
    const rows: Array<{ id: string; status: JobStatus }> = await this.sql.query(
      `SELECT j.id, j.status FROM job_dependencies d JOIN jobs j ON j.id = d.job_id
       WHERE d.depends_on_id = $1 AND j.status <> 'completed' ORDER BY j.created_at, j.id LIMIT 1`,
      [id],
      tx,
    );
    return rows[0] ?? null;
  }

  /** Deletes jobs with their log rows and their edges (both directions). */
  async deleteJobs(ids: readonly string[], tx: EntityManager): Promise<void> {
    if (ids.length === 0) return;
    await this.sql.query(`DELETE FROM job_logs WHERE job_id = ANY($1::uuid[])`, [ids], tx);
    await this.sql.query(`DELETE FROM job_dependencies WHERE job_id = ANY($1::uuid[]) OR depends_on_id = ANY($1::uuid[])`, [ids], tx);
    await this.sql.query(`DELETE FROM jobs WHERE id = ANY($1::uuid[])`, [ids], tx);
  }

  /**
   * Deletes up to `limit` finished jobs past their retention (`completed` ones that completed before
   * `completedBefore`, the others that ended before `failedBefore`; null = kept forever) that no
   * job depends on but completed ones, with their log rows and edges, skipping rows others hold.
   * Reads jobs_status_created_idx per status: completed_at is never before created_at, so only jobs
   * created before the cut-off are looked at.
   *
   * Two statements in one short transaction: the first locks the candidates, the second checks their
   * dependents again and deletes. A submit that depends on a job share-locks it first; one that
   * committed after the first statement's snapshot but before its lock left no trace that snapshot can
   * see (a lock changes no row version), so the check is made again by a statement that starts after
   * the locks are held: it sees every such edge, and no new one can come until the delete commits.
   */
  async deleteExpired(completedBefore: Date | null, failedBefore: Date | null, limit: number): Promise<Array<{ type: string }>> {
    return this.sql.transaction(async (tx) => {
      const locked: Array<{ id: string }> = await this.sql.query(
        `WITH cut(status, before) AS (
           SELECT s::job_status, CASE WHEN s = 'completed' THEN $1::timestamptz ELSE $2::timestamptz END
           FROM unnest(ARRAY[${FINISHED_LIST}]) AS s
         )
         SELECT j.id FROM cut CROSS JOIN LATERAL (
           SELECT j.id FROM jobs j
           WHERE j.status = cut.status AND j.created_at < cut.before AND j.completed_at < cut.before AND NOT j.allocated
             AND ${NO_DEPENDENT_NOT_COMPLETED}
           ORDER BY j.created_at, j.id LIMIT $3
           FOR UPDATE OF j SKIP LOCKED
         ) j
         WHERE cut.before IS NOT NULL
         LIMIT $3`,
        [completedBefore, failedBefore, limit],
        tx,
      );
      if (locked.length === 0) return [];
      return this.sql.query(
        `WITH ids(ids) AS (
           SELECT ARRAY(SELECT j.id FROM jobs j WHERE j.id = ANY($1::uuid[])
             AND ${NO_DEPENDENT_NOT_COMPLETED})
         ),
         logs AS (DELETE FROM job_logs WHERE job_id = ANY((SELECT ids FROM ids)::uuid[])),
         edges AS (DELETE FROM job_dependencies WHERE job_id = ANY((SELECT ids FROM ids)::uuid[]) OR depends_on_id = ANY((SELECT ids FROM ids)::uuid[]))
         DELETE FROM jobs WHERE id = ANY((SELECT ids FROM ids)::uuid[]) RETURNING type`,
        [locked.map((r) => r.id)],
        tx,
      );
    });
  }
}
