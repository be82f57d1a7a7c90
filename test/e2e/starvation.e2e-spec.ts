import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestSpace, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;

beforeAll(async () => {
  const space = await createTestSpace('starvation');
  app = await startTestApp(space, { STARVATION_SECONDS: '2', MAX_CONCURRENT_JOBS: '2', MAX_CPU_UNITS: '2', MAX_MEMORY_MB: '4096' });
});

afterAll(async () => {
  await app?.close();
});

describe('the starvation guard (DESIGN §4)', () => {
  it('starts a low-priority job that waited past STARVATION_SECONDS behind a steady backlog of high-priority jobs larger than one pass reads', async () => {
    const high = (n: number) => Array.from({ length: n }, () => ({ type: 'noop', priority: 'high', payload: { duration_ms: 200 } }));
    // Both slots busy for 3 s, then the low job, then the backlog: once the slots free up the low job
    // has waited past STARVATION_SECONDS, longer than any high job behind it.
    const blockers = Array.from({ length: 2 }, () => ({ type: 'noop', priority: 'high', payload: { duration_ms: 3_000 } }));
    expect((await app.post('/jobs/batch', { jobs: blockers })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const low = await app.submit({ type: 'noop', priority: 'low' });
    expect((await app.post('/jobs/batch', { jobs: high(150) })).status).toBe(201);
    // Two slots, 200 ms a job: the backlog is topped up to 150 (more than a pass's window of 100) while
    // the low job waits; without the guard it would wait for the backlog to end.
    let started: any = null;
    for (let round = 0; round < 60 && !started; round++) {
      const ready = (await app.get('/jobs?status=ready&priority=high&limit=200')).body.items.length as number;
      if (ready < 150) expect((await app.post('/jobs/batch', { jobs: high(150 - ready) })).status).toBe(201);
      const job = await app.getJob(low.id);
      if (job.started_at) started = job;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(started).not.toBeNull();
    expect(Date.parse(started.started_at) - Date.parse(low.created_at)).toBeGreaterThanOrEqual(2_000);
    expect((await app.get('/jobs?status=ready&priority=high&limit=200')).body.items.length).toBeGreaterThan(100);
    await app.post('/jobs/bulk/cancel', { filter: { status: ['ready'], priority: 'high' } });
  }, 40_000);
});
