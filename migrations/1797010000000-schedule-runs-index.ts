import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `jobs_schedule_unfinished_idx` also holds a schedule's cancelled jobs whose handlers are still
 * stopping (`allocated`: a cancelled running job keeps its resources until its handler returns, 5 s at
 * most). The overlap policy `skip` promises that nothing of a schedule runs twice at once, and such a
 * handler still runs: a tick judged against the unfinished statuses alone started its job beside it.
 * The predicate is the firing's query's (ScheduleJobs.unfinishedOf): PostgreSQL uses the index only when
 * the query implies it, so they change together. The index stays as small: a cancelled job leaves it when
 * its handler stops.
 *
 * Built CONCURRENTLY under a second name, then swapped in, outside a transaction: a plain DROP INDEX
 * would hold an ACCESS EXCLUSIVE lock on `jobs` until the new index was built over the whole table,
 * blocking every read of it meanwhile (the running release's heartbeats and passes included: on a
 * large table, past the workers' leases). The old predicate implies the new one, so the queries of
 * the release before this one use the new index as well. A build that failed half-way leaves an
 * invalid index under the second name, dropped first when the migration runs again.
 */
export class ScheduleRunsIndex1797010000000 implements MigrationInterface {
  name = 'ScheduleRunsIndex1797010000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await swap(q, `"status" IN ('pending', 'blocked', 'ready', 'running') OR ("status" = 'cancelled' AND "allocated")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await swap(q, `"status" IN ('pending', 'blocked', 'ready', 'running')`);
  }
}

/**
 * Replaces jobs_schedule_unfinished_idx by one with `predicate`, without blocking reads or writes of
 * `jobs`. Inside a transaction (TypeORM's `migration:revert` opens one whatever the migration says) the
 * same steps run without CONCURRENTLY, which a transaction refuses.
 */
async function swap(q: QueryRunner, predicate: string): Promise<void> {
  const concurrently = q.isTransactionActive ? '' : ' CONCURRENTLY';
  await q.query(`DROP INDEX${concurrently} IF EXISTS "jobs_schedule_unfinished_idx_next"`);
  await q.query(`CREATE INDEX${concurrently} "jobs_schedule_unfinished_idx_next" ON "jobs" ("schedule_id") WHERE "schedule_id" IS NOT NULL AND (${predicate})`);
  await q.query(`DROP INDEX${concurrently} IF EXISTS "jobs_schedule_unfinished_idx"`);
  await q.query(`ALTER INDEX "jobs_schedule_unfinished_idx_next" RENAME TO "jobs_schedule_unfinished_idx"`);
}
