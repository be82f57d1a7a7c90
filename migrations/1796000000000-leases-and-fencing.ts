import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What keeps faults from losing or doubling work: the scheduler leadership's epoch (placements check
 * it in SQL, so a deposed leader places nothing), and what each worker last said it executes
 * (`executing_job_ids`, written by its heartbeat) with the time of the heartbeat before
 * (`previous_heartbeat_at`), from which the leader finds running jobs whose outcome will never come.
 */
export class LeasesAndFencing1796000000000 implements MigrationInterface {
  name = 'LeasesAndFencing1796000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "scheduler_leadership" (
        "id" smallint NOT NULL,
        "epoch" bigint NOT NULL DEFAULT 0,
        "holder" varchar(200),
        "acquired_at" timestamptz(3),
        CONSTRAINT "scheduler_leadership_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "scheduler_leadership_single_row_check" CHECK ("id" = 1)
      )`);
    await q.query(`INSERT INTO "scheduler_leadership" ("id", "epoch") VALUES (1, 0)`);
    await q.query(`ALTER TABLE "workers" ADD "executing_job_ids" uuid array NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE "workers" ADD "previous_heartbeat_at" timestamptz(3)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "workers" DROP COLUMN "previous_heartbeat_at"`);
    await q.query(`ALTER TABLE "workers" DROP COLUMN "executing_job_ids"`);
    await q.query(`DROP TABLE "scheduler_leadership"`);
  }
}
