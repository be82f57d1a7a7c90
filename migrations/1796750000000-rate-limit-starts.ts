import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `rate_limit_starts`: one row per start of a rate-limited type (DESIGN §12), written by the leader
 * that let the job start, with the time the start counts at. A leader that takes over, or sees a
 * type's rate limit set or its window widened, rebuilds the starts within the window from here:
 * `jobs.started_at` alone keeps only a job's latest attempt, and loses the jobs deleted since.
 *
 * No foreign key to `jobs`: a start counts in its window after its job is deleted. The leader's
 * sweep deletes the rows older than their type's window. `job_id` is indexed for the rebuild, which
 * reads from `jobs` the starts not written here yet.
 */
export class RateLimitStarts1796750000000 implements MigrationInterface {
  name = 'RateLimitStarts1796750000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rate_limit_starts (
        job_id uuid NOT NULL,
        type varchar(100) NOT NULL,
        started_at timestamptz(3) NOT NULL
      )`);
    await q.query(`CREATE INDEX rate_limit_starts_type_started_idx ON rate_limit_starts (type, started_at)`);
    await q.query(`CREATE INDEX rate_limit_starts_job_idx ON rate_limit_starts (job_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limit_starts`);
  }
}
