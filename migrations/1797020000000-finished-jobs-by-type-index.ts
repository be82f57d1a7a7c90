import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `jobs_finished_type_created_idx`: the finished jobs by type, status and creation, newest first. A list
 * filtered by type (`GET /jobs?type=…`, the dashboard's links from its Queues page, a bulk action by
 * type) reads one range of it per finished status, a few entries per page whatever the table holds;
 * with only `jobs_status_created_idx`, a rare or absent type walked the whole range of each finished
 * status (a week of history: the whole table) to fill a page. Partial on the finished statuses: a job
 * enters it once, when it ends, so the hot transitions (ready, running) write no entry to it, and the
 * unfinished ranges it leaves out are the short ones.
 *
 * Built CONCURRENTLY, outside a transaction, so `jobs` stays readable and writable while it builds; inside
 * one (TypeORM's `migration:revert` opens one whatever the migration says) without. A build that failed
 * half-way leaves an invalid index under the same name, dropped first when the migration runs again.
 */
export class FinishedJobsByTypeIndex1797020000000 implements MigrationInterface {
  name = 'FinishedJobsByTypeIndex1797020000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    const concurrently = q.isTransactionActive ? '' : ' CONCURRENTLY';
    await q.query(`DROP INDEX${concurrently} IF EXISTS "jobs_finished_type_created_idx"`);
    await q.query(
      `CREATE INDEX${concurrently} "jobs_finished_type_created_idx" ON "jobs" ("type", "status", "created_at" DESC, "id" DESC) ` +
        `WHERE "status" IN ('completed', 'failed', 'timeout', 'cancelled')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const concurrently = q.isTransactionActive ? '' : ' CONCURRENTLY';
    await q.query(`DROP INDEX${concurrently} IF EXISTS "jobs_finished_type_created_idx"`);
  }
}
