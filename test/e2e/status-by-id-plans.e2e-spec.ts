import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { allocatedById, statusAmong } from '../../src/database/status-by-id.js';
import { guardedStatements } from '../../src/jobs/transition-guard.js';
// Loading the modules whose statements change a job's status registers their guards.
import '../../src/jobs/job-bulk.repository.js';
import { JobRerunRepository } from '../../src/jobs/job-rerun.repository.js';
import type { Sql } from '../../src/database/sql.js';
import '../../src/jobs/job-starts.repository.js';
import '../../src/jobs/job-transitions.repository.js';
import { createTestSpace } from '../support/test-app.js';

type PlanNode = { 'Node Type': string; 'Index Name'?: string; 'Relation Name'?: string; Plans?: PlanNode[] };

/** The scans of one table in a plan, sequential ones included: `Seq Scan`, `Index Scan jobs_pkey`, ... */
function scansOfRelation(node: PlanNode, relation: string): string[] {
  const own = /Scan/.test(node['Node Type']) && node['Relation Name'] === relation ? [`${node['Node Type']}${node['Index Name'] ? ` ${node['Index Name']}` : ''}`] : [];
  return [...own, ...(node.Plans ?? []).flatMap((child) => scansOfRelation(child, relation))];
}

/** Every node type of a plan. */
const nodeTypes = (node: PlanNode): string[] => [node['Node Type'], ...(node.Plans ?? []).flatMap(nodeTypes)];

/** The scans of a plan: `Index Scan jobs_pkey`, `Seq Scan`, ... (a bitmap heap scan reads what its index scan found: left out). */
function scans(node: PlanNode): string[] {
  const own = /Scan/.test(node['Node Type']) && node['Node Type'] !== 'Bitmap Heap Scan' ? [`${node['Node Type']}${node['Index Name'] ? ` ${node['Index Name']}` : ''}`] : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}

/**
 * The statements that find jobs by id leave them to the primary key even when the statistics were
 * taken while no job was ready or running, the usual state of a queue table between bursts: with a
 * plain `status = 'ready'` such statistics make PostgreSQL walk the whole ready queue instead.
 */
describe('plans of the statements that find jobs by id', () => {
  let client: pg.Client;
  let ids: string[];

  beforeAll(async () => {
    const space = await createTestSpace('status_by_id_plans');
    client = new pg.Client({ connectionString: space.databaseUrl });
    await client.connect();
    const insert = (n: number, status: string, allocated: boolean) =>
      client.query(
        `INSERT INTO jobs (id, type, status, allocated, worker_id, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds)
         SELECT gen_random_uuid(), 'noop', $2::job_status, $3, CASE WHEN $3 THEN 'w1' END, 3, 2, 1000, 60000, 60 FROM generate_series(1, $1)`,
        [n, status, allocated],
      );
    // Statistics of a table where every job had finished, then a burst: 3,000 ready, 500 running, some waiting.
    await insert(20_000, 'completed', false);
    await client.query('ANALYZE jobs');
    await insert(3_000, 'ready', false);
    await insert(500, 'running', true);
    await insert(500, 'pending', false);
    await insert(500, 'blocked', false);
    ids = (await client.query(`SELECT id FROM jobs WHERE status = 'ready' ORDER BY id LIMIT 100`)).rows.map((r) => r.id as string);
  });

  afterAll(async () => {
    await client?.end();
  });

  /** The scans of `UPDATE jobs j ... WHERE j.id = ANY($1) AND <condition>` for 100 ids, as a custom and as a generic plan. */
  async function scansOf(condition: string): Promise<string[][]> {
    const out: string[][] = [];
    for (const mode of ['force_custom_plan', 'force_generic_plan']) {
      await client.query(`SET plan_cache_mode = ${mode}`);
      await client.query(`PREPARE by_id(uuid[]) AS UPDATE jobs j SET updated_at = now() WHERE j.id = ANY($1) AND ${condition}`);
      try {
        const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE by_id(${client.escapeLiteral(`{${ids.join(',')}}`)}::uuid[])`);
        out.push(scans(rows[0]['QUERY PLAN'][0].Plan as PlanNode));
      } finally {
        await client.query('DEALLOCATE by_id');
      }
    }
    await client.query('RESET plan_cache_mode');
    return out;
  }

  /** Every plan of every condition reads jobs only through the primary key. */
  async function expectOnlyPrimaryKey(conditions: readonly string[]): Promise<void> {
    for (const condition of conditions) {
      for (const plan of await scansOf(condition)) expect({ condition, plan: plan.filter((s) => !s.endsWith('jobs_pkey')) }).toEqual({ condition, plan: [] });
    }
  }

  it('walks the ready queue with a plain status equality: the plan this guards against', async () => {
    const [custom, generic] = await scansOf(`j.status = 'ready' AND NOT j.allocated`);
    expect([...custom, ...generic].some((s) => s.includes('jobs_ready_'))).toBe(true);
    const [placedCustom, placedGeneric] = await scansOf(`${statusAmong(['ready'])} AND j.allocated`);
    expect([...placedCustom, ...placedGeneric]).toContain('Index Scan jobs_allocated_worker_idx');
  });

  it.each(guardedStatements().filter((s) => s.guard !== null).map((s) => [s.statement, s.guard!] as const))(
    '%s: its guard leaves the rows to the primary key',
    async (_, guard) => {
      await expectOnlyPrimaryKey([guard, `${guard} AND NOT j.allocated`, `${guard} AND ${allocatedById()}`]);
    },
  );

  it('does the same for the placement statements (a ready job, placed or not)', async () => {
    await expectOnlyPrimaryKey([`${statusAmong(['ready'])} AND NOT j.allocated`, `${statusAmong(['ready'])} AND ${allocatedById()}`]);
  });
});

/**
 * A retry finds what a failure cancelled downstream by walking the edges from the root. With statistics
 * taken before the cancellation (no cancelled job), a plain `status = 'cancelled'` made each step of the
 * recursion walk every cancelled job through jobs_status_created_idx: quadratic in a chain's length
 * (16.5 s for a chain of 2,000). The walk goes by the edges' index and the primary key only.
 */
describe.each([
  ['statistics taken before the cancellation', false],
  ['statistics taken with many jobs cancelled by failures elsewhere', true],
])('plan of the walk a retry takes downstream, %s', (_, cancelledElsewhere) => {
  let client: pg.Client;
  let root: string;

  beforeAll(async () => {
    const space = await createTestSpace(cancelledElsewhere ? 'rerun_walk_plans_many' : 'rerun_walk_plans');
    client = new pg.Client({ connectionString: space.databaseUrl });
    await client.connect();
    const chain = 2_000;
    const insertJobs = async (count: number, status: string, error: string | null): Promise<string[]> =>
      (
        await client.query(
          `INSERT INTO jobs (id, type, status, error, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds)
           SELECT gen_random_uuid(), 'noop', $2::job_status, $3::jsonb, 3, 2, 1000, 60000, 60 FROM generate_series(1, $1) RETURNING id`,
          [count, status, error],
        )
      ).rows.map((r) => r.id as string);
    if (!cancelledElsewhere) {
      await insertJobs(20_000, 'completed', null);
    } else {
      // A small table, most of it cancelled by another failure with 10,000 dependents: PostgreSQL cannot
      // estimate the status and error tests (expressions) and put them at one row, and the edges of one
      // job at hundreds. The walk scanned the whole table at every step, then merge-joined the edges.
      const [other] = await insertJobs(1, 'cancelled', null);
      const dependents = await insertJobs(10_000, 'cancelled', '{"code":"DEPENDENCY_FAILED"}');
      await client.query(`INSERT INTO job_dependencies (job_id, depends_on_id) SELECT unnest($1::uuid[]), $2`, [dependents, other]);
    }
    await client.query('ANALYZE jobs');
    await client.query('ANALYZE job_dependencies');
    const ids: string[] = (
      await client.query(
        `INSERT INTO jobs (id, type, status, error, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds)
         SELECT gen_random_uuid(), 'noop', 'cancelled', CASE WHEN n > 1 THEN '{"code":"DEPENDENCY_FAILED"}'::jsonb END, 3, 2, 1000, 60000, 60
         FROM generate_series(1, $1) AS n RETURNING id`,
        [chain],
      )
    ).rows.map((r) => r.id as string);
    await client.query(`INSERT INTO job_dependencies (job_id, depends_on_id) SELECT unnest($1::uuid[]), unnest($2::uuid[])`, [ids.slice(1), ids.slice(0, -1)]);
    root = ids[0]!;
  });

  afterAll(async () => {
    await client?.end();
  });

  it('reads jobs only through the primary key', async () => {
    let statement: { text: string; values: unknown[] } | undefined;
    const capture = { query: async (text: string, values: unknown[]) => ((statement = { text, values }), []) } as unknown as Sql;
    await new JobRerunRepository(capture).cancelledDownstream(root, undefined as never);
    const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${statement!.text}`, statement!.values);
    const plan = rows[0]['QUERY PLAN'][0].Plan as PlanNode;
    expect(scansOfRelation(plan, 'jobs').filter((s) => !s.endsWith('jobs_pkey'))).toEqual([]);
    expect(nodeTypes(plan).filter((t) => t === 'Merge Join' || t === 'Hash Join')).toEqual([]);
    const { rows: found } = await client.query(statement!.text, statement!.values);
    expect(found).toHaveLength(1_999);
  });
});
