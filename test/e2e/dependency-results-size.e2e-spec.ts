import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { dependencyResultsTooLarge, readDependencyResults } from '../../src/executor/dependency-reads.js';
import { JobLifecycleService } from '../../src/jobs/job-lifecycle.service.js';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A worker reads a job's dependencies' results before its handler begins. Together they may be far more
 * than a process can hold (a fan-in of 1,000 jobs with 1 MiB results each): their size is read first, in
 * the same statement, and past the bound no result is sent and the job fails at once.
 */
let app: TestApp;
let client: pg.Client;

beforeAll(async () => {
  ({ app, db: client } = await startTestAppWithDatabase('dependency_results_size', { ROLE: 'api' }));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

describe('reading the results of a job’s dependencies', () => {
  it('sends them under the bound, and only their size past it', async () => {
    const a = await app.submit({ type: 'noop', delay_ms: 86_400_000 });
    const b = await app.submit({ type: 'noop', delay_ms: 86_400_000 });
    const c = await app.submit({ type: 'noop', depends_on: [a.id, b.id] });
    await client.query(`UPDATE jobs SET result = jsonb_build_object('x', repeat('r', 1000)) WHERE id = ANY($1::uuid[])`, [[a.id, b.id]]);
    await client.query(`UPDATE jobs SET ref = 'a' WHERE id = $1`, [a.id]);
    const lifecycle = app.app.get(JobLifecycleService);

    const under = await readDependencyResults(lifecycle, c.id, 1_000_000);
    expect(under.tooLarge).toBeUndefined();
    expect([...under.results.keys()].sort()).toEqual([a.id, b.id, 'a'].sort());
    expect((under.results.get('a')!.result as { x: string }).x).toHaveLength(1000);

    const over = await readDependencyResults(lifecycle, c.id, 2_000);
    expect(over.results.size).toBe(0);
    expect(over.tooLarge).toBe(2 * '{"x": ""}'.length + 2 * 1000);
    const raw = await lifecycle.dependencyResults(c.id, 2_000);
    expect(raw.results.map((r) => r.result)).toEqual([null, null]); // not even read into the process
    expect(dependencyResultsTooLarge(over.tooLarge!, 2_000)).toEqual({
      code: 'DEPENDENCY_RESULTS_TOO_LARGE',
      message: "the results of the job's dependencies are 2018 bytes of JSON together; a worker reads at most 2000 for one job",
      retryable: false,
    });
  });
});
