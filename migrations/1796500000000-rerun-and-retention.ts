import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Re-runs, and a big table that stays fast (DESIGN §13):
 *
 * - `attempt_base`: the runs a job had before its last manual retry. A retry gives a job a new run
 *   budget (`max_attempts` more runs) while `attempts` keeps counting, so the retry rules compare
 *   `attempts - attempt_base` with `max_attempts`.
 *
 * - `jobs_status_created_idx (status, created_at DESC, id DESC)` replaces `jobs_created_idx
 *   (created_at DESC, id DESC)`, so the table keeps as many full indexes as before (each one is
 *   written by every state change: status changes are never HOT updates). GET /jobs reads it once
 *   per status asked (all of them when none is), newest first, and merges the streams (a Merge
 *   Append with a LIMIT): a page costs a few index entries per status whatever the table holds, even
 *   for a rare status among a million completed jobs, where walking created_at and filtering would
 *   read every newer row. The leader's retention reads the same index from the other end: the oldest
 *   jobs of a finished status, created before the cut-off (completed_at is never before created_at).
 *
 * - GET /jobs/{id}/logs already has what it needs: job_logs' primary key (job_id, id).
 *
 * - Autovacuum per table: retention deletes all day long, so `jobs` and `job_logs` are vacuumed once
 *   2 % of their rows (plus 1,000) are dead instead of the default 20 %: a table of 5,000,000 log rows
 *   would otherwise carry a million dead ones before its first clean-up. Analyze follows at 1 %.
 */
export class RerunAndRetention1796500000000 implements MigrationInterface {
  name = 'RerunAndRetention1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "jobs" ADD "attempt_base" integer NOT NULL DEFAULT 0`);
    await q.query(`CREATE INDEX "jobs_status_created_idx" ON "jobs" ("status", "created_at" DESC, "id" DESC)`);
    await q.query(`DROP INDEX "jobs_created_idx"`);
    for (const table of ['jobs', 'job_logs']) {
      await q.query(
        `ALTER TABLE "${table}" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
           autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000)`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['jobs', 'job_logs']) {
      await q.query(
        `ALTER TABLE "${table}" RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
           autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)`,
      );
    }
    await q.query(`CREATE INDEX "jobs_created_idx" ON "jobs" ("created_at" DESC, "id" DESC)`);
    await q.query(`DROP INDEX "jobs_status_created_idx"`);
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "attempt_base"`);
  }
}
