import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The fair ready queue's per-key index (DESIGN §10, §12), rebuilt as `jobs_ready_key_due_idx`:
 * - on the due time (`GREATEST(created_at, run_at)`, the expression of `jobs_ready_priority_due_idx`
 *   and of DUE_AT in src/database/job-order.ts; PostgreSQL matches it by its parsed form, so change
 *   them together), so each key's share of the window is the jobs due earliest, read in index order,
 *   not the jobs submitted earliest: a delayed job no longer takes a turn ahead of a job due before it;
 * - with `type` after the key, so the query walks (key, type) pairs: a pair or a type the queue rules
 *   hold back as a whole is skipped by one index probe instead of having every ready job of it read
 *   and rejected on every pass, and the bulk reason writes of a (type, key) pair read one range.
 *
 * And `jobs_ready_keyless_due_idx`, the head of the ready jobs without a key, for the fair queue's
 * other part: read from `jobs_ready_priority_due_idx`, it filtered out every keyed ready job on each
 * pass (10,000 rows when 10,000 keyed jobs wait). Its cost is one more index entry per keyless job
 * while it is ready and unplaced; keyed jobs get none.
 */
export class ReadyKeyDueIndex1796630000000 implements MigrationInterface {
  name = 'ReadyKeyDueIndex1796630000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "jobs_ready_key_due_idx" ON "jobs" ("concurrency_key", "type", "priority" DESC, GREATEST("created_at", "run_at"), "id")
       WHERE "status" = 'ready' AND NOT "allocated" AND "concurrency_key" IS NOT NULL`,
    );
    await q.query(`DROP INDEX "jobs_ready_key_idx"`);
    await q.query(
      `CREATE INDEX "jobs_ready_keyless_due_idx" ON "jobs" ("priority" DESC, GREATEST("created_at", "run_at"), "id")
       WHERE "status" = 'ready' AND NOT "allocated" AND "concurrency_key" IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "jobs_ready_keyless_due_idx"`);
    await q.query(
      `CREATE INDEX "jobs_ready_key_idx" ON "jobs" ("concurrency_key", "priority" DESC, "created_at", "id")
       WHERE "status" = 'ready' AND NOT "allocated" AND "concurrency_key" IS NOT NULL`,
    );
    await q.query(`DROP INDEX "jobs_ready_key_due_idx"`);
  }
}
