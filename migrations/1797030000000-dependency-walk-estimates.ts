import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fixes the planner's estimate of how many edges one job's dependents are: a few, as in every DAG but a
 * hub's. The walks of a graph (a cascade's, a retry's, `GET /jobs/{id}/graph`) look edges up by
 * `depends_on_id` once per job reached. Analyzed while one big fan-out filled the table (the usual state
 * right after a daily fan-out is submitted), `depends_on_id` read as one distinct value: every lookup was
 * estimated at the whole table, and PostgreSQL read the whole table once per job reached (a retry of a
 * 30,000-job fan-out past DB_QUERY_TIMEOUT_MS, refused for good). With `n_distinct` fixed at a
 * twentieth of the rows, a lookup reads as about twenty edges, and goes by the index whatever the
 * statistics of the moment. Applied at the next ANALYZE: run here.
 */
export class DependencyWalkEstimates1797030000000 implements MigrationInterface {
  name = 'DependencyWalkEstimates1797030000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "job_dependencies" ALTER COLUMN "depends_on_id" SET (n_distinct = -0.05)`);
    await q.query(`ANALYZE "job_dependencies"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "job_dependencies" ALTER COLUMN "depends_on_id" RESET (n_distinct)`);
    await q.query(`ANALYZE "job_dependencies"`);
  }
}
