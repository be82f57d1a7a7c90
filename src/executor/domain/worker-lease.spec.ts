import { describe, expect, it } from '@jest/globals';
import { leaseCheckMs, outcomeRetryDelayMs, WorkerLease, workerLeaseMs } from './worker-lease.js';

describe(workerLeaseMs.name, () => {
  it.each([
    [15, 2000, 11_250],
    [4, 300, 3000],
    [2, 300, 1500],
    [2, 2000, 4000], // a heartbeat slower than the lost threshold allows: never fence between two beats
  ])('WORKER_LOST_SECONDS=%i, HEARTBEAT_INTERVAL_MS=%i: %i ms', (seconds, beatMs, leaseMs) => expect(workerLeaseMs(seconds, beatMs)).toBe(leaseMs));

  it.each([2, 4, 15, 60])('ends before the scheduler can declare the worker lost (WORKER_LOST_SECONDS=%i), a check to spare', (seconds) => {
    const leaseMs = workerLeaseMs(seconds, 300);
    expect(leaseMs + leaseCheckMs(leaseMs)).toBeLessThan(seconds * 1000);
  });
});

describe(WorkerLease.name, () => {
  it('is not lapsed before its first renewal (the worker registers first)', () => {
    expect(new WorkerLease(1000).isLapsed(1e9)).toBe(false);
  });

  it.each([
    [[0], 999, false],
    [[0], 1000, true],
    [[0, 800], 1700, false],
    [[800, 0], 1700, false], // a renewal answered late (sent earlier) never moves the lease back
    [[0, 800], 1800, true],
  ])('renewals sent at %j: lapsed at %i is %s', (renewals, now, lapsed) => {
    const lease = new WorkerLease(1000);
    for (const sentAt of renewals) lease.renew(sentAt);
    expect(lease.isLapsed(now)).toBe(lapsed);
    expect(lease.silentFor(now)).toBe(now - Math.max(...renewals));
  });
});

describe(outcomeRetryDelayMs.name, () => {
  it.each([
    [1, 50],
    [2, 100],
    [3, 200],
    [6, 1600],
    [7, 2000],
    [1000, 2000],
  ])('after %i failed writes waits %i ms', (failures, delay) => expect(outcomeRetryDelayMs(failures)).toBe(delay));
});
