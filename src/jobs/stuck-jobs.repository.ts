import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql.js';
import type { Job } from './entities/job.entity.js';
import { JOB_COLUMNS, rowToJob, type JobRow } from './job-row.js';

/** What became of the worker of a job left running: it stopped, was declared lost, or restarted since the job started. */
export type WorkerGone = 'stopped' | 'lost' | 'restarted';

/** Finds `running` jobs whose outcome nothing will ever record. SQL only; the scheduler decides. */
@Injectable()
export class StuckJobsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Jobs running on the given workers (those just declared lost) that the worker's present life did
   * not start: it may have registered again between its declaration and this read (its heartbeat
   * refused, it abandons what it ran and registers), and what it started since is its own to finish.
   */
  async runningOn(workerIds: string[]): Promise<Job[]> {
    if (workerIds.length === 0) return [];
    const rows: JobRow[] = await this.sql.query(
      `SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.allocated AND j.status = 'running' AND j.worker_id = ANY($1::varchar[])
         AND EXISTS (SELECT 1 FROM workers w WHERE w.id = j.worker_id AND (w.status IN ('stopped', 'lost') OR w.started_at > j.started_at))
       ORDER BY created_at, id`,
      [workerIds],
    );
    return rows.map(rowToJob);
  }

  /**
   * Jobs still running on a worker that stopped or was declared lost, or that registered again (a
   * restart under the same WORKER_ID) after the job started: nothing will record how they end. Each
   * with what became of its worker, for the job's error message.
   */
  async runningOnGoneWorkers(): Promise<Array<{ job: Job; gone: WorkerGone }>> {
    const rows: Array<JobRow & { gone: WorkerGone }> = await this.sql.query(
      `SELECT ${JOB_COLUMNS}, gone FROM (
         SELECT j.*, CASE WHEN w.status IN ('stopped', 'lost') THEN w.status::text ELSE 'restarted' END AS gone
         FROM jobs j JOIN workers w ON w.id = j.worker_id
         WHERE j.allocated AND j.status = 'running' AND (w.status IN ('stopped', 'lost') OR w.started_at > j.started_at)
       ) orphaned ORDER BY created_at, id`,
    );
    return rows.map((row) => ({ job: rowToJob(row), gone: row.gone }));
  }

  /**
   * Jobs running on a live worker that no longer executes them: started before the worker's
   * previous heartbeat, yet missing from what its last heartbeat said it executes or is starting
   * (WorkerRepository.heartbeat). The worker took that list after the previous beat had been
   * stored, so such a job's start had already committed, and the worker either never learnt of it
   * (the answer was lost with its connection) or ended it without recording an outcome.
   */
  async runningNotExecuting(limit = 1000): Promise<Job[]> {
    const rows: JobRow[] = await this.sql.query(
      `SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.allocated AND j.status = 'running'
         AND EXISTS (SELECT 1 FROM workers w WHERE w.id = j.worker_id AND w.status IN ('active', 'draining')
                       AND w.previous_heartbeat_at > j.started_at AND NOT (j.id = ANY (w.executing_job_ids)))
       ORDER BY created_at, id LIMIT $1`,
      [limit],
    );
    return rows.map(rowToJob);
  }
}
