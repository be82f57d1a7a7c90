import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { EntityManager } from 'typeorm';
import { JobCancellationRepository } from '../../src/jobs/job-cancellation.repository.js';
import { JobGraphRepository } from '../../src/jobs/job-graph.repository.js';
import { JobRerunRepository } from '../../src/jobs/job-rerun.repository.js';
import { recordingSql } from '../support/recording-sql.js';
import { createTestSpace } from '../support/test-app.js';

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'CTE Name'?: string; 'Actual Loops': number; Plans?: PlanNode[] };

/**
 * The walks of a dependency graph (a cascade's, a retry's, the graph view's) stay linear in what they walk,
 * with the statistics of a table that one big fan-out fills (the state right after a daily fan-out is
 * submitted, when `depends_on_id` reads as a single distinct value): no scan of the edge table, nor of the
 * walk itself, is run again for every job reached.
 */
describe('plans of the dependency walks beside a hub of 20,000 dependents', () => {
  let client: pg.Client;
  const HUB = '00000000-0000-7000-8000-000000000001';
  const PARENT = '00000000-0000-7000-8000-000000000002';
  const CHILD = '00000000-0000-7000-8000-000000000003';
  const { sql: recording, sent } = recordingSql();

  beforeAll(async () => {
    const space = await createTestSpace('dependency_walk_plans');
    client = new pg.Client({ connectionString: space.databaseUrl });
    await client.connect();
    // A plan that reads the edges again per job takes minutes here: it fails at this bound instead.
    await client.query('SET statement_timeout = 10000');
    const columns = `type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds`;
    await client.query(`INSERT INTO jobs (id, ${columns}) VALUES ($1, 'noop', 'failed', 1, 2, 1000, 60000, 60), ($2, 'noop', 'running', 1, 2, 1000, 60000, 60), ($3, 'noop', 'blocked', 1, 2, 1000, 60000, 60)`, [HUB, PARENT, CHILD]);
    await client.query(
      `WITH dependents AS (
         INSERT INTO jobs (id, ${columns}, error)
         SELECT gen_random_uuid(), 'noop', 'cancelled', 1, 2, 1000, 60000, 60, '{"code": "DEPENDENCY_FAILED"}'::jsonb FROM generate_series(1, 20000)
         RETURNING id)
       INSERT INTO job_dependencies (job_id, depends_on_id) SELECT id, $1::uuid FROM dependents`,
      [HUB],
    );
    // Statistics taken while the hub's edges were all there was; the one other edge comes after.
    await client.query('ANALYZE job_dependencies');
    await client.query('ANALYZE jobs');
    await client.query(`INSERT INTO job_dependencies (job_id, depends_on_id) VALUES ($1, $2)`, [CHILD, PARENT]);
  });

  afterAll(async () => {
    await client?.end();
  });

  /** The scans run more than once (a whole table or a CTE read again per row) in the plan of the last statement sent, run for real and rolled back. */
  async function rescans(): Promise<string[]> {
    const { text, values } = sent.pop()!;
    await client.query('BEGIN');
    try {
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
      const walk = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(walk)];
      return walk(rows[0]['QUERY PLAN'][0].Plan as PlanNode)
        .filter((n) => (n['Node Type'] === 'Seq Scan' || n['Node Type'] === 'CTE Scan') && n['Actual Loops'] > 1)
        .map((n) => `${n['Node Type']} ${n['Relation Name'] ?? n['CTE Name']} x${n['Actual Loops']}`);
    } finally {
      await client.query('ROLLBACK');
    }
  }

  it('the walk of what a retry of the hub brings back reads each edge once', async () => {
    await new JobRerunRepository(recording).cancelledDownstream(HUB, {} as EntityManager);
    expect(await rescans()).toEqual([]);
  });

  it('the graph view of the hub reads each edge once', async () => {
    await new JobGraphRepository(recording).graph(HUB, 20_000).catch(() => undefined);
    sent.splice(1); // the walk is the first statement
    expect(await rescans()).toEqual([]);
  });

  describe('and 40,000 edges of other DAGs', () => {
    beforeAll(async () => {
      const columns = `type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds`;
      await client.query(
        `WITH parents AS (INSERT INTO jobs (id, ${columns}) SELECT gen_random_uuid(), 'noop', 'completed', 1, 2, 1000, 60000, 60 FROM generate_series(1, 20000) RETURNING id),
              kids AS (INSERT INTO jobs (id, ${columns}) SELECT gen_random_uuid(), 'noop', 'completed', 1, 2, 1000, 60000, 60 FROM generate_series(1, 20000) RETURNING id),
              p AS (SELECT id, row_number() OVER () AS n FROM parents), k AS (SELECT id, row_number() OVER () AS n FROM kids)
         INSERT INTO job_dependencies (job_id, depends_on_id)
         SELECT k.id, p.id FROM k JOIN p ON p.n = k.n UNION ALL SELECT k.id, p.id FROM k JOIN p ON p.n = (k.n % 20000) + 1`,
      );
      await client.query('ANALYZE job_dependencies');
    });

    it.each([
      ['a job with one dependent', PARENT],
      ['the hub', HUB],
    ])('the cascade of %s reads each edge once', async (_name, root) => {
      await new JobCancellationRepository(recording).cancelDownstream(root, 'failed');
      expect(await rescans()).toEqual([]);
    }, 30_000);
  });
});
