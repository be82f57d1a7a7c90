import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `jobs_schedule_unfinished_idx` also holds a schedule's cancelled jobs whose handlers are still
 * stopping (`allocated`: a cancelled running job keeps its resources until its handler returns, 5 s at
 * most). The overlap policy `skip` promises that nothing of a schedule runs twice at once, and such a
 * handler still runs: a tick judged against the unfinished statuses alone started its job beside it.
 * The predicate is the firing's query's (ScheduleJobs.unfinishedOf): PostgreSQL uses the index only when
 * the query implies it, so they change together. The index stays as small: a cancelled job leaves it when
 * its handler stops.
 */
export class ScheduleRunsIndex1797010000000 implements MigrationInterface {
  name = 'ScheduleRunsIndex1797010000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "jobs_schedule_unfinished_idx"`);
    await q.query(
      `CREATE INDEX "jobs_schedule_unfinished_idx" ON "jobs" ("schedule_id")
       WHERE "schedule_id" IS NOT NULL AND ("status" IN ('pending', 'blocked', 'ready', 'running') OR ("status" = 'cancelled' AND "allocated"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "jobs_schedule_unfinished_idx"`);
    await q.query(
      `CREATE INDEX "jobs_schedule_unfinished_idx" ON "jobs" ("schedule_id")
       WHERE "schedule_id" IS NOT NULL AND "status" IN ('pending', 'blocked', 'ready', 'running')`,
    );
  }
}
