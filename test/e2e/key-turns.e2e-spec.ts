import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Keys take turns when jobs start one at a time (DESIGN §12): each job needs the worker's whole cpu,
 * so every placement pass finds room for one, and a pass alone cannot tell whose turn it is.
 */

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('key_turns'), { MAX_CPU_UNITS: '8' });
});

afterAll(async () => {
  await app?.close();
});

describe('concurrency keys, one job at a time', () => {
  it('take turns across passes: 5 jobs of A then 2 of B start A B A B A A A', async () => {
    expect((await app.patch('/queues/noop', { paused: true })).status).toBe(200);
    const ids: string[] = [];
    for (const key of ['A', 'A', 'A', 'A', 'A', 'B', 'B']) {
      ids.push((await app.submit({ type: 'noop', concurrency_key: key, resource_requirements: { cpu_units: 8 }, payload: { duration_ms: 30 } })).id);
    }
    expect((await app.patch('/queues/noop', { paused: false })).status).toBe(200);
    const jobs = await expectEventually(
      async () => {
        const all = await Promise.all(ids.map((id) => app.getJob(id)));
        for (const job of all) expect(job.status).toBe('completed');
        return all;
      },
      { timeoutMs: 20_000 },
    );
    const order = [...jobs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at)).map((j) => j.concurrency_key);
    expect(order.join(' ')).toBe('A B A B A A A');
  });
});
