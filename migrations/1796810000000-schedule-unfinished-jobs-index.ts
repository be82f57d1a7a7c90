import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `jobs_schedule_unfinished_idx`: the unfinished jobs of each schedule. A schedule's overlap policy
 * (DESIGN §11) judges a tick against every unfinished job of the schedule (a triggered one as well as
 * the previous tick's), and the firing reads them for up to 250 schedules in one statement per
 * transaction, every time a tick falls due.
 *
 * Without it that read combines `jobs_schedule_tick_key` (every job the schedule ever made, still
 * retained) with `jobs_status_created_idx` (every unfinished job of any kind). Measured on 1.3 million
 * jobs (a week of a one-second schedule: 604,800 jobs; 249 schedules of 2,000 jobs; 200,000 ready
 * jobs of no schedule), prepared with its generic plan as the service runs it: 22 ms (59 ms from a cold
 * cache) and 5,200 buffers for that one schedule, 82 ms (145 ms) for 250 schedules, on every firing.
 * With it: 0.03 ms, and 0.1 ms for 250. It is partial: a job has an entry only while it belongs
 * to a schedule and is unfinished, so it stays as small as the number of such jobs (16 kB there).
 * Its cost is one index entry when a scheduled job is created or moves between unfinished states; the
 * updates that move a job are never HOT updates anyway (`status` is in `jobs_status_created_idx`).
 *
 * The predicate lists the unfinished statuses as the firing's query does (ScheduleJobs.unfinishedOf,
 * from `isTerminal`): PostgreSQL uses the index only when the query's list implies it, so they change together.
 */
export class ScheduleUnfinishedJobsIndex1796810000000 implements MigrationInterface {
  name = 'ScheduleUnfinishedJobsIndex1796810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "jobs_schedule_unfinished_idx" ON "jobs" ("schedule_id")
       WHERE "schedule_id" IS NOT NULL AND "status" IN ('pending', 'blocked', 'ready', 'running')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "jobs_schedule_unfinished_idx"`);
  }
}
