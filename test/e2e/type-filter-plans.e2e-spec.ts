import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { JobBulkRepository } from '../../src/jobs/job-bulk.repository.js';
import { JobRepository, type ListFilter } from '../../src/jobs/job.repository.js';
import { recordingSql } from '../support/recording-sql.js';
import { createTestSpace } from '../support/test-app.js';

type PlanNode = { 'Node Type': string; 'Shared Hit Blocks'?: number; 'Shared Read Blocks'?: number; Plans?: PlanNode[] };

/**
 * A list filtered by type reads a few index entries per page whatever the history holds: a week of
 * finished jobs of other types is not walked to find a rare type's (or to find that it has none).
 */
describe('plans of lists and bulk pages filtered by type, beside a long history of other types', () => {
  let client: pg.Client;
  /** The statements a repository sends, run as EXPLAIN (ANALYZE, BUFFERS) on the test's database instead. */
  const { sql: recording, sent: explained } = recordingSql();

  beforeAll(async () => {
    const space = await createTestSpace('type_filter_plans');
    client = new pg.Client({ connectionString: space.databaseUrl });
    await client.connect();
    const insert = (n: number, type: string, status: string) =>
      client.query(
        `INSERT INTO jobs (id, type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds, created_at)
         SELECT gen_random_uuid(), $2, $3::job_status, 3, 2, 1000, 60000, 60, now() - make_interval(secs => i)
         FROM generate_series(1, $1) AS i`,
        [n, type, status],
      );
    await insert(60_000, 'noop', 'completed');
    await insert(10_000, 'noop', 'failed');
    await insert(5_000, 'noop', 'cancelled');
    await insert(30, 'rare', 'completed');
    await insert(5, 'rare', 'failed');
    await client.query('VACUUM ANALYZE jobs');
  });

  afterAll(async () => {
    await client?.end();
  });

  /** The blocks the last recorded statement touched, run for real, and the scans of its plan. */
  async function cost(): Promise<{ blocks: number; seqScans: number; rows: number }> {
    const { text, values } = explained.pop()!;
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values);
    const plan = rows[0]['QUERY PLAN'][0].Plan as PlanNode & { 'Actual Rows': number };
    const walk = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(walk)];
    const nodes = walk(plan);
    return {
      blocks: (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0),
      seqScans: nodes.filter((n) => /Seq Scan/.test(n['Node Type'])).length,
      rows: plan['Actual Rows'],
    };
  }

  const page = (filter: Partial<ListFilter>): ListFilter => ({ limit: 50, maxBytes: 1 << 20, ...filter });

  it.each([
    ['a rare type', { types: ['rare'] }, 35],
    ['a type with no job at all', { types: ['absent'] }, 0],
    ['a rare type and a status', { types: ['rare'], statuses: ['completed'] as never }, 30],
    ['a rare type and a priority', { types: ['rare'], priorities: ['normal'] as never }, 35],
    ['two types, one of them absent', { types: ['rare', 'absent'] }, 35],
  ])('GET /jobs with %s reads a few blocks, not the history', async (_name, filter, found) => {
    await new JobRepository(recording).list(page(filter));
    const { blocks, seqScans, rows } = await cost();
    expect({ rows, seqScans }).toEqual({ rows: found, seqScans: 0 });
    expect(blocks).toBeLessThan(300);
  });

  it('a bulk action’s page by type reads as few', async () => {
    await new JobBulkRepository(recording).matchPage({ types: ['rare'], createdBefore: new Date() }, null, 500);
    const { blocks, seqScans, rows } = await cost();
    expect({ rows, seqScans }).toEqual({ rows: 35, seqScans: 0 });
    expect(blocks).toBeLessThan(300);
  });
});
