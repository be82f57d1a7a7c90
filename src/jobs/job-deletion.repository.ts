import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { isTerminal, JOB_STATUSES, type JobStatus } from './domain/job-state.js';

/** The finished states (isTerminal); a job in one of them never moves again by itself (a manual retry aside). */
const FINISHED: readonly JobStatus[] = JOB_STATUSES.filter(isTerminal);

/**
 * Jobs of one status retention looks at in one transaction at most (more when a batch asks for more):
 * bounds what a batch reads past jobs that must stay, and how long it holds its locks meanwhile.
 */
const RETENTION_WINDOW = 500;

/** A job's place in jobs_status_created_idx, oldest first (created_at as text: a Date drops its microseconds). */
interface SweepKey {
  createdAt: string;
  id: string;
}

/** Before every job of a status. */
const SWEEP_START: SweepKey = { createdAt: '-infinity', id: '00000000-0000-0000-0000-000000000000' };

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
  /** Where retention's sweep is: the status (index in FINISHED) and the last job looked at in it. */
  private sweep: { status: number; after: SweepKey } = { status: 0, after: SWEEP_START };

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
   *
   * The jobs are looked at as one sweep of jobs_status_created_idx, status after status, oldest first
   * (completed_at is never before created_at, so only jobs created before the cut-off are looked at): a
   * call goes on from the last job the previous one looked at, in windows of its own short transaction
   * each, until it has deleted `limit` jobs or the sweep has reached its end. So it returns fewer than
   * `limit` only at the end of the sweep (where a retention pass ends), and the next call starts from
   * the oldest again; so does the one after a failed call. Jobs that stay (a completed job whose failed
   * dependent may still be retried, one created long ago that completed lately) sit at the front of the
   * index: each is read once a sweep, where a search from the oldest on every batch would read them all
   * again for each batch, and retention would slow down to nothing as they grow in number. One caller at
   * a time (the leader's retention runs one pass at a time); a pass cut short by a leadership change is
   * taken up where it stopped by this process's next one, and the jobs behind it wait for the sweep after.
   */
  async deleteExpired(completedBefore: Date | null, failedBefore: Date | null, limit: number): Promise<Array<{ type: string }>> {
    const deleted: Array<{ type: string }> = [];
    try {
      while (deleted.length < limit && this.sweep.status < FINISHED.length) {
        const status = FINISHED[this.sweep.status]!;
        const before = status === 'completed' ? completedBefore : failedBefore;
        if (before) deleted.push(...(await this.deleteInWindow(status, before, limit - deleted.length)));
        else this.sweep = { status: this.sweep.status + 1, after: SWEEP_START };
      }
    } catch (error) {
      this.sweep = { status: 0, after: SWEEP_START };
      throw error;
    }
    if (deleted.length < limit) this.sweep = { status: 0, after: SWEEP_START };
    return deleted;
  }

  /**
   * One short transaction over the next window of `status` after the sweep's position (RETENTION_WINDOW
   * jobs created before the cut-off, or `want` if more): up to `want` expired deletable jobs in it are
   * deleted, and the position moves to the last one when that many were found, else to the window's end
   * (the status is done when the window came back short). A job skipped because another transaction
   * holds it is left for the next pass.
   *
   * Three statements. The first finds where the window ends (an index-only range of the index). The
   * second locks the victims in it, in the index's order, and stops at `want`: each statement is a
   * plain range scan of jobs_status_created_idx whatever the table's statistics say. The third checks
   * the victims' dependents again and deletes: a submit that depends on a job share-locks it first; one
   * that committed after the second statement's snapshot but before its lock left no trace that snapshot
   * can see (a lock changes no row version), so the check is made again by a statement that starts after
   * the locks are held: it sees every such edge, and no new one can come until the delete commits.
   */
  private deleteInWindow(status: JobStatus, before: Date, want: number): Promise<Array<{ type: string }>> {
    const window = Math.max(RETENTION_WINDOW, want);
    const position = this.sweep;
    return this.sql.transaction(async (tx) => {
      const [end]: Array<SweepKey & { seen: number }> = await this.sql.query(
        `SELECT w.id, w.created_at::text AS "createdAt", count(*) OVER ()::int AS seen FROM (
           SELECT id, created_at FROM jobs
           WHERE status = $1::job_status AND created_at < $2::timestamptz AND (created_at, id) > ($4::timestamptz, $5::uuid)
           ORDER BY created_at, id LIMIT $3
         ) w ORDER BY w.created_at DESC, w.id DESC LIMIT 1`,
        [status, before, window, position.after.createdAt, position.after.id],
        tx,
      );
      if (!end) {
        this.sweep = { status: position.status + 1, after: SWEEP_START };
        return [];
      }
      const locked: SweepKey[] = await this.sql.query(
        `SELECT j.id, j.created_at::text AS "createdAt" FROM jobs j
         WHERE j.status = $1::job_status AND j.created_at < $2::timestamptz
           AND (j.created_at, j.id) > ($4::timestamptz, $5::uuid) AND (j.created_at, j.id) <= ($6::timestamptz, $7::uuid)
           AND j.completed_at < $2::timestamptz AND NOT j.allocated AND ${NO_DEPENDENT_NOT_COMPLETED}
         ORDER BY j.created_at, j.id LIMIT $3
         FOR UPDATE OF j SKIP LOCKED`,
        [status, before, want, position.after.createdAt, position.after.id, end.createdAt, end.id],
        tx,
      );
      if (locked.length === want) this.sweep = { status: position.status, after: locked[want - 1]! };
      else if (end.seen < window) this.sweep = { status: position.status + 1, after: SWEEP_START };
      else this.sweep = { status: position.status, after: { createdAt: end.createdAt, id: end.id } };
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
