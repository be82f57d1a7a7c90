import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recurring schedules (DESIGN §11):
 *
 * - `schedules`: one row per schedule. `name` is unique (`schedules_name_key`: PUT /schedules/{name}
 *   and the 409 on a duplicate). `next_fire_at` is the firing cursor: the earliest tick not yet
 *   handled, null once past `end_at`. The leader reads the earliest one to arm its timer and the due
 *   ones to fire them: `schedules_next_fire_idx (next_fire_at) WHERE next_fire_at IS NOT NULL` serves
 *   both and holds only live schedules. Paused schedules stay in it: their ticks are still handled
 *   (counted as skipped, never caught up). Lists are ordered by name, which the unique index serves.
 *
 * - `jobs.schedule_id`, `jobs.scheduled_for`: the schedule that created a job and the tick it was
 *   created for. `jobs_schedule_tick_key UNIQUE (schedule_id, scheduled_for) WHERE schedule_id IS NOT
 *   NULL` is what makes a tick fire at most once whatever happens to the leader: every fire inserts
 *   with `ON CONFLICT DO NOTHING` on it. It is partial, so ordinary jobs add nothing to it, and its
 *   leading column also serves GET /jobs?schedule_id= (newest tick first).
 *
 * - `schedule_id` has no foreign key, deliberately. DELETE /schedules keeps the jobs already created
 *   (DESIGN §15) and they keep naming the schedule they came from, so GET /jobs?schedule_id= still
 *   shows the history of a deleted schedule; an `ON DELETE SET NULL` key would instead rewrite every
 *   one of those rows (for a schedule firing every second, a week of retention is 600,000 rows) inside
 *   the DELETE's transaction, and a blocking key would make a schedule undeletable until retention
 *   caught up. Retention deletes jobs on its own clock and never needs the schedule.
 */
export class RecurringSchedules1796350000000 implements MigrationInterface {
  name = 'RecurringSchedules1796350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TYPE "schedule_overlap_policy" AS ENUM ('skip', 'allow', 'cancel_previous')`);
    await q.query(`CREATE TYPE "schedule_catch_up" AS ENUM ('none', 'latest', 'all')`);
    await q.query(`
      CREATE TABLE "schedules" (
        "id" uuid NOT NULL,
        "name" varchar(200) NOT NULL,
        "cron" varchar(200) NOT NULL,
        "timezone" varchar(100) NOT NULL DEFAULT 'UTC',
        "job" jsonb NOT NULL,
        "overlap_policy" "schedule_overlap_policy" NOT NULL DEFAULT 'skip',
        "catch_up" "schedule_catch_up" NOT NULL DEFAULT 'latest',
        "paused" boolean NOT NULL DEFAULT false,
        "start_at" TIMESTAMP(3) WITH TIME ZONE,
        "end_at" TIMESTAMP(3) WITH TIME ZONE,
        "next_fire_at" TIMESTAMP(3) WITH TIME ZONE,
        "last_fire_at" TIMESTAMP(3) WITH TIME ZONE,
        "last_job_id" uuid,
        "fire_count" integer NOT NULL DEFAULT 0,
        "skip_count" integer NOT NULL DEFAULT 0,
        "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "schedules_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "schedules_name_key" UNIQUE ("name"),
        CONSTRAINT "schedules_bounds_check" CHECK (start_at IS NULL OR end_at IS NULL OR start_at <= end_at)
      )`);
    await q.query(`CREATE INDEX "schedules_next_fire_idx" ON "schedules" ("next_fire_at") WHERE next_fire_at IS NOT NULL`);
    await q.query(`ALTER TABLE "jobs" ADD "schedule_id" uuid`);
    await q.query(`ALTER TABLE "jobs" ADD "scheduled_for" TIMESTAMP(3) WITH TIME ZONE`);
    await q.query(
      `CREATE UNIQUE INDEX "jobs_schedule_tick_key" ON "jobs" ("schedule_id", "scheduled_for") WHERE schedule_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "jobs_schedule_tick_key"`);
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "scheduled_for"`);
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "schedule_id"`);
    await q.query(`DROP TABLE "schedules"`);
    await q.query(`DROP TYPE "schedule_catch_up"`);
    await q.query(`DROP TYPE "schedule_overlap_policy"`);
  }
}
