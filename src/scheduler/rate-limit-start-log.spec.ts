import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { RateLimitStartsRepository } from '../queues/rate-limit-starts.repository.js';
import type { QueueRules } from './domain/flow-control.js';
import { RateLimitStartLog, STARTS_KEPT_MS } from './rate-limit-start-log.js';

describe('RateLimitStartLog: placements of a type that lost its rate limit', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('are forgotten with the type once its starts need no longer be kept, started or not', async () => {
    const starts = { recent: async () => [], record: async () => undefined, prune: async () => 0 } as unknown as RateLimitStartsRepository;
    const log = new RateLimitStartLog(starts);
    const rated = new Map<string, QueueRules>([['noop', { paused: false, concurrencyLimit: null, keyConcurrencyLimit: null, rateLimit: { limit: 5, intervalMs: 1000 } }]]);
    const unrated = new Map<string, QueueRules>();
    await log.load(rated);
    const t0 = 1_000_000;
    jest.spyOn(Date, 'now').mockReturnValue(t0);
    log.follow(unrated); // the limit removed: its starts are still stored for a while
    log.record([{ id: 'j1', type: 'noop' }, { id: 'j2', type: 'noop' }], { started: false }, unrated);
    log.started('j1', t0 + 10); // j2 is cancelled before it starts: no job_started ever comes
    expect(log.unratedWaiting).toBe(1);
    jest.spyOn(Date, 'now').mockReturnValue(t0 + STARTS_KEPT_MS - 1);
    log.follow(unrated);
    expect(log.unratedWaiting).toBe(1);
    jest.spyOn(Date, 'now').mockReturnValue(t0 + STARTS_KEPT_MS);
    log.follow(unrated);
    expect(log.unratedWaiting).toBe(0);
  });
});
