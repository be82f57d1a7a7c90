import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * job_logs' primary key becomes (job_id, id), in place of (id) plus the (job_id, id) index: every log
 * line is read by its job (GET /jobs/{id}/logs pages by id within a job), never by id alone, so one
 * index serves both. Three log lines are written a job, so this is three index entries a job fewer.
 */
export class JobLogsPrimaryKey1795900000000 implements MigrationInterface {
  name = 'JobLogsPrimaryKey1795900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "job_logs" DROP CONSTRAINT "job_logs_pkey"`);
    await q.query(`DROP INDEX "job_logs_job_id_idx"`);
    await q.query(`ALTER TABLE "job_logs" ADD CONSTRAINT "job_logs_pkey" PRIMARY KEY ("job_id", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "job_logs" DROP CONSTRAINT "job_logs_pkey"`);
    await q.query(`ALTER TABLE "job_logs" ADD CONSTRAINT "job_logs_pkey" PRIMARY KEY ("id")`);
    await q.query(`CREATE INDEX "job_logs_job_id_idx" ON "job_logs" ("job_id", "id")`);
  }
}
