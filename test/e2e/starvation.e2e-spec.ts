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

const high = (n: number) => Array.from({ length: n }, () => ({ type: 'noop', priority: 'high', payload: { duration_ms: 200 } }));

/**
 * Both slots busy for 3 s, then `before` (low jobs older than the one measured), then the low job, then
 * the backlog: once the slots free up the low job has waited past STARVATION_SECONDS, longer than any
 * high job behind it. The backlog is topped up to 150 (more than a pass's window of 100) while the low
 * job waits; without the guard it would wait for the backlog to end. Returns the low job as it started.
 */
async function lowJobBehindBacklog(before: Array<Record<string, unknown>> = []): Promise<{ low: any; started: any }> {
  const blockers = Array.from({ length: 2 }, () => ({ type: 'noop', priority: 'high', payload: { duration_ms: 3_000 } }));
  expect((await app.post('/jobs/batch', { jobs: blockers })).status).toBe(201);
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (before.length > 0) expect((await app.post('/jobs/batch', { jobs: before })).status).toBe(201);
  const low = await app.submit({ type: 'noop', priority: 'low' });
  expect((await app.post('/jobs/batch', { jobs: high(150) })).status).toBe(201);
  let started: any = null;
  for (let round = 0; round < 60 && !started; round++) {
    const ready = (await app.get('/jobs?status=ready&priority=high&limit=200')).body.items.length as number;
    if (ready < 150) expect((await app.post('/jobs/batch', { jobs: high(150 - ready) })).status).toBe(201);
    const job = await app.getJob(low.id);
    if (job.started_at) started = job;
    else await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { low, started };
}

describe('the starvation guard (DESIGN §4)', () => {
  it('starts a low-priority job that waited past STARVATION_SECONDS behind a steady backlog of high-priority jobs larger than one pass reads', async () => {
    const { low, started } = await lowJobBehindBacklog();
    expect(started).not.toBeNull();
    expect(Date.parse(started.started_at) - Date.parse(low.created_at)).toBeGreaterThanOrEqual(2_000);
    expect((await app.get('/jobs?status=ready&priority=high&limit=200')).body.items.length).toBeGreaterThan(100);
    await app.post('/jobs/bulk/cancel', { filter: { status: ['ready'], priority: 'high' } });
  }, 40_000);

  it('sees past older jobs of a paused type at the head of its priority, behind a backlog too long to look behind', async () => {
    // The paused type's jobs are the oldest of priority low: the guard's look at each priority's head
    // found only them, which the pass then dropped. With more high jobs ready than the look behind a
    // window scans (2,000), nothing else could find the low job that starves behind them.
    expect((await app.patch('/queues/report_generation', { paused: true })).status).toBe(200);
    const blockers = Array.from({ length: 2 }, () => ({ type: 'noop', priority: 'high', payload: { duration_ms: 3_000 } }));
    expect((await app.post('/jobs/batch', { jobs: blockers })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const paused = Array.from({ length: 6 }, () => ({ type: 'report_generation', priority: 'low', payload: { report_type: 'daily_summary', date: '2024-01-15' } }));
    expect((await app.post('/jobs/batch', { jobs: paused })).status).toBe(201);
    const low = await app.submit({ type: 'noop', priority: 'low' });
    // Two slots, a second a job: the backlog stays above 2,000 for the whole test.
    const backlog = Array.from({ length: 2_200 }, () => ({ type: 'noop', priority: 'high', payload: { duration_ms: 1_000 } }));
    expect((await app.post('/jobs/batch', { jobs: backlog })).status).toBe(201);
    let started: any = null;
    for (let round = 0; round < 60 && !started; round++) {
      const job = await app.getJob(low.id);
      if (job.started_at) started = job;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(started).not.toBeNull();
    await app.post('/jobs/bulk/cancel', { filter: { status: ['ready'] } });
    expect((await app.patch('/queues/report_generation', { paused: false })).status).toBe(200);
  }, 40_000);
});
