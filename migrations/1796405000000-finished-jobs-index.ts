import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /stats/throughput` (DESIGN §15) counts the jobs that finished in the last minutes by their
 * `completed_at`: without an index that is a scan of the whole table, which grows with retention.
 * The index is partial (finished jobs only: completed, failed, timed out) and carries `status`, so
 * the count reads a range of it and, once the rows are all-visible, not the table. Its cost: one
 * index entry per job that finishes; the update that finishes a job is never a HOT update anyway
 * (`status` is in `jobs_status_created_idx`), and queued, running or retried jobs get no entry.
 */
export class FinishedJobsIndex1796405000000 implements MigrationInterface {
  name = 'FinishedJobsIndex1796405000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "jobs_finished_at_idx" ON "jobs" ("completed_at") INCLUDE ("status")
       WHERE "status" IN ('completed', 'failed', 'timeout')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "jobs_finished_at_idx"`);
  }
}
