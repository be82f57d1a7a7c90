import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SCHEDULER_TIMING } from '../../src/scheduler/scheduler-timing.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * A job that arrives ready while a queue rule holds its type back says why at once (DESIGN §4: every
 * job that waits says why; §12). The leader's periodic rewrite of every reason is pushed out of this
 * test's reach, so only the write for jobs that have just become ready can give them their reason.
 */

let app: TestApp;
const timing = SCHEDULER_TIMING as { reasonRefreshMs: number };
const refreshMs = timing.reasonRefreshMs;

beforeAll(async () => {
  timing.reasonRefreshMs = 10 * 60_000;
  app = await startTestApp(await createTestSpace('held_reasons'), { MAX_CONCURRENT_JOBS: '4' });
});

afterAll(async () => {
  await app?.close();
  timing.reasonRefreshMs = refreshMs;
});

const reasonOf = async (id: string) => (await app.getJob(id)).waiting_reason;

describe('the reason of a job held back by a queue rule as it arrives', () => {
  it('QUEUE_PAUSED for a job submitted to a queue paused before it', async () => {
    expect((await app.patch('/queues/noop', { paused: true })).status).toBe(200);
    const first = await app.submit({ type: 'noop' });
    await expectEventually(async () => expect(await reasonOf(first.id)).toMatchObject({ code: 'QUEUE_PAUSED' }), { timeoutMs: 5_000 });
    // The pause is long settled now: the next ones are written as they arrive, not by a rewrite of all.
    for (let i = 0; i < 3; i++) {
      const job = await app.submit({ type: 'noop' });
      await expectEventually(async () => expect(await reasonOf(job.id)).toMatchObject({ code: 'QUEUE_PAUSED' }), { timeoutMs: 5_000 });
      expect((await app.getJob(job.id)).status).toBe('ready');
    }
    expect((await app.patch('/queues/noop', { paused: false })).status).toBe(200);
  }, 30_000);

  it('CONCURRENCY_LIMIT for a job of a type at its limit', async () => {
    expect((await app.patch('/queues/noop', { concurrency_limit: 1 })).status).toBe(200);
    const running = await app.submit({ type: 'noop', payload: { duration_ms: 20_000 } });
    await expectEventually(async () => expect((await app.getJob(running.id)).status).toBe('running'), { timeoutMs: 5_000 });
    const waiting = await app.submit({ type: 'noop' });
    await expectEventually(async () => expect(await reasonOf(waiting.id)).toMatchObject({ code: 'CONCURRENCY_LIMIT', scope: 'type', limit: 1 }), {
      timeoutMs: 5_000,
    });
    expect((await app.patch(`/jobs/${running.id}/cancel`)).status).toBe(200);
    await app.patch('/queues/noop', { concurrency_limit: null });
  }, 30_000);
});
