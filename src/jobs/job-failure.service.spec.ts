import { describe, expect, it } from '@jest/globals';
import { JobFailureService } from './job-failure.service.js';
import type { FailItem } from './job-transitions.repository.js';

/** A job on its last attempt (max_attempts 1). */
const lastAttempt = { id: 'j1', type: 'noop', attempts: 1, attemptBase: 0, maxAttempts: 1, backoffMultiplier: 2, initialDelayMs: 1000, maxDelayMs: 60_000 } as never;

function harness() {
  const failed: FailItem[] = [];
  const cascaded: string[] = [];
  const transitions = {
    fail: async (items: FailItem[]) => {
      failed.push(...items);
      return { jobs: items.map((i) => ({ id: i.id, status: i.retryAt ? 'pending' : i.outcome })), events: [] };
    },
  };
  const jobs = { transaction: (run: (tx: unknown) => Promise<unknown>) => run({}) };
  const cancels = { cancelDownstream: async (id: string) => (cascaded.push(id), { jobs: [], events: [] }) };
  const lifecycle = { publish: () => undefined, observeRuns: () => undefined };
  const service = new JobFailureService(jobs as never, transitions as never, cancels as never, lifecycle as never);
  return { service, failed, cascaded };
}

describe('JobFailureService.fail', () => {
  it('ends a job on its last attempt for good, and cancels its dependents', async () => {
    const { service, failed, cascaded } = harness();
    expect(await service.fail(lastAttempt, 1, 'failed', { code: 'HANDLER_ERROR', message: 'boom' })).toBe(true);
    expect(failed).toEqual([expect.objectContaining({ id: 'j1', retryAt: null })]);
    expect(cascaded).toEqual(['j1']);
  });

  it('gives a released job (its worker drained) its attempt back: it goes back to pending at once, on its last attempt too', async () => {
    const { service, failed, cascaded } = harness();
    const before = Date.now();
    await service.fail(lastAttempt, 1, 'failed', { code: 'WORKER_SHUTDOWN', message: 'stopped' }, { release: true });
    expect(failed).toEqual([expect.objectContaining({ id: 'j1', attempt: 1, givenBack: true, retryAt: expect.any(Date) })]);
    expect(failed[0]!.retryAt!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(failed[0]!.retryAt!.getTime()).toBeGreaterThanOrEqual(before);
    expect(cascaded).toEqual([]);
  });
});
