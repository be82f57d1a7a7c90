import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;

beforeAll(async () => {
  const space = await createTestSpace('behind_window');
  app = await startTestApp(space, { MAX_CONCURRENT_JOBS: '10', MAX_CPU_UNITS: '8', MAX_MEMORY_MB: '4096' });
});

afterAll(async () => {
  await app?.close();
});

describe('jobs behind a full window of the placement pass (DESIGN §4)', () => {
  it('starts a smaller job behind more jobs that do not fit than one pass reads, and gives every waiting job its reason', async () => {
    // 5 of the worker's 8 cpu units taken for the whole test: 3 left, so none of the 4-unit jobs fits.
    const blocker = await app.submit({ type: 'noop', payload: { duration_ms: 30_000 }, resource_requirements: { cpu_units: 5 } });
    await expectEventually(async () => expect((await app.getJob(blocker.id)).status).toBe('running'));
    const large = Array.from({ length: 130 }, () => ({ type: 'noop', payload: { duration_ms: 10 }, resource_requirements: { cpu_units: 4 } }));
    expect((await app.post('/jobs/batch', { jobs: large })).status).toBe(201);
    const small = await app.submit({ type: 'noop', priority: 'low', resource_requirements: { cpu_units: 1 } });

    // Behind 130 jobs of higher priority, more than a pass reads: found by the look behind the window.
    await expectEventually(async () => expect((await app.getJob(small.id)).status).toBe('completed'), { timeoutMs: 8_000, intervalMs: 200 });
    const ready = async () => (await app.get('/jobs?status=ready&limit=200')).body.items as any[];
    expect((await ready()).length).toBe(130);

    // Every one of them says why it waits, the 30 behind the window too.
    await expectEventually(
      async () => {
        const waiting = await ready();
        expect(waiting.filter((j) => j.waiting_reason === null).map((j) => j.id)).toEqual([]);
        expect(new Set(waiting.map((j) => j.waiting_reason.code))).toEqual(new Set(['INSUFFICIENT_RESOURCES']));
      },
      { timeoutMs: 8_000, intervalMs: 200 },
    );

    await app.post('/jobs/bulk/cancel', { filter: { status: ['ready', 'running'] } });
  }, 40_000);
});
