import { describe, expect, it } from '@jest/globals';
import { deletionRate, MAX_RETENTION_PAUSE_MS, pauseAfterBatch, type RetentionPace } from './retention-pace.js';

const pace = (busyPercent: number, minPauseMs = 10, batchSize = 100): RetentionPace => ({ batchSize, minPauseMs, busyPercent });

describe(pauseAfterBatch.name, () => {
  it.each([
    [20, 10, 40],
    [20, 25, 100],
    [10, 10, 90],
    [50, 30, 30],
    [25, 3, 9],
  ])('busy %i %%: a batch of %i ms is followed by %i ms', (busy, batchMs, pauseMs) => expect(pauseAfterBatch(batchMs, pace(busy, 0))).toBe(pauseMs));

  it.each([1, 7, 33, 250, 1000])('keeps the batches within their share of the time (batch of %i ms)', (batchMs) => {
    for (const busy of [5, 10, 20, 50, 99]) {
      const pause = pauseAfterBatch(batchMs, pace(busy, 0));
      expect((100 * batchMs) / (batchMs + pause)).toBeLessThanOrEqual(busy + 1e-9);
    }
  });

  it('never pauses less than the minimum, even after a quick batch or at 100 %', () => {
    expect(pauseAfterBatch(0, pace(20, 10))).toBe(10);
    expect(pauseAfterBatch(1, pace(20, 10))).toBe(10);
    expect(pauseAfterBatch(500, pace(100, 10))).toBe(10);
    expect(pauseAfterBatch(-5, pace(20, 0))).toBe(0); // a clock step backwards is a batch of 0 ms
  });

  it('never pauses longer than a minute, however slow the batch', () => {
    expect(pauseAfterBatch(30_000, pace(10))).toBe(MAX_RETENTION_PAUSE_MS);
  });
});

describe(deletionRate.name, () => {
  it.each([
    // batch size, batch ms, busy %, min pause, jobs/s
    [100, 10, 20, 10, 2000],
    [100, 20, 20, 10, 1000],
    [1000, 80, 100, 200, 3571],
    [200, 1, 20, 10, 18_182],
  ])('%i jobs a batch of %i ms at %i %% (min pause %i ms): %i jobs/s', (batchSize, batchMs, busy, minPause, rate) =>
    expect(Math.round(deletionRate(batchMs, pace(busy, minPause, batchSize)))).toBe(rate),
  );
});
