import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delayed jobs (DESIGN §10):
 *
 * - `run_at`: when a job may start at the earliest, set at submit from `run_at` or `delay_ms` (null =
 *   at once). Nullable without a default, so adding it rewrites nothing.
 *
 * - A delayed job waits `pending` with `next_run_at = run_at`, exactly as a retry waits for its
 *   backoff: the leader's timer and its safety-net sweep find both through the existing
 *   `jobs_pending_next_run_idx (next_run_at) WHERE status = 'pending'`. No index on `run_at` itself:
 *   nothing looks jobs up by it, and every index is written by each state change of the hot path.
 *
 * - The ready queue's order among equal priorities becomes "due earliest first": a job is due at its
 *   `run_at`, or at its submit when it has none or one in the past (`GREATEST(created_at, run_at)`;
 *   GREATEST skips NULLs). The partial ready index is rebuilt on that expression in place of
 *   `created_at` (`jobs_ready_priority_due_idx`), so the placement pass still reads the head of the
 *   queue from an index, in order, with a LIMIT and no sort. It covers ready, unplaced rows only, so
 *   rebuilding it costs one scan of the table and a sort of the ready jobs. The queries spell the
 *   expression exactly as the index does (`DUE_AT` in job.repository.ts), or PostgreSQL would not
 *   match them. The fair queue's per-key index (`jobs_ready_key_idx`, created by a later migration)
 *   is left as it is: this migration runs before that one on a new database.
 */
export class DelayedJobs1796310000000 implements MigrationInterface {
  name = 'DelayedJobs1796310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "jobs" ADD "run_at" timestamptz(3)`);
    await q.query(`DROP INDEX "jobs_ready_priority_created_idx"`);
    await q.query(
      `CREATE INDEX "jobs_ready_priority_due_idx" ON "jobs" ("priority" DESC, GREATEST("created_at", "run_at"), "id")
       WHERE "status" = 'ready' AND NOT "allocated"`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "jobs_ready_priority_due_idx"`);
    await q.query(`CREATE INDEX "jobs_ready_priority_created_idx" ON "jobs" ("priority" DESC, "created_at", "id") WHERE "status" = 'ready' AND NOT "allocated"`);
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "run_at"`);
  }
}
