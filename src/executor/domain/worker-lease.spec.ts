import { describe, expect, it } from '@jest/globals';
import { leaseCheckMs, outcomeRetryDelayMs, registersAgainAfterRefusal, WorkerLease, workerLeaseMs } from './worker-lease.js';

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

describe(WorkerLease.prototype.fenceIfLapsed.name, () => {
  it('fences once per lapse: at the first check after a pause longer than the lease, not at the next', () => {
    const lease = new WorkerLease(1000);
    lease.renew(0);
    expect(lease.fenceIfLapsed(999)).toBe(false);
    expect(lease.fenceIfLapsed(5000)).toBe(true);
    expect(lease.fenceIfLapsed(5100)).toBe(false);
  });

  it('is lifted by a renewal that makes the lease current, and fences again at the next lapse', () => {
    const lease = new WorkerLease(1000);
    lease.renew(0);
    expect(lease.fenceIfLapsed(5000)).toBe(true);
    expect(lease.liftFence(5000)).toBe(false); // no renewal yet: still lapsed
    lease.renew(5000);
    expect(lease.liftFence(5010)).toBe(true);
    expect(lease.liftFence(5020)).toBe(false); // lifted once
    expect(lease.fenceIfLapsed(5500)).toBe(false);
    expect(lease.fenceIfLapsed(6000)).toBe(true);
  });

  it('never fences before the first renewal (the worker registers first)', () => {
    expect(new WorkerLease(1000).fenceIfLapsed(1e9)).toBe(false);
  });
});

describe('WorkerLease.lapses', () => {
  it('counts a renewal that comes after a lapse, not one in time', () => {
    const lease = new WorkerLease(1000);
    lease.renew(0);
    lease.renew(900);
    expect(lease.lapses).toBe(0);
    lease.renew(2000); // 1,100 ms after the last: the lease had lapsed in between
    expect(lease.lapses).toBe(1);
    expect(lease.isLapsed(2100)).toBe(false);
  });
});

describe(registersAgainAfterRefusal.name, () => {
  it.each([
    [false, true], // declared lost while running: registers again
    [true, false], // shutdown has begun (a beat refused after "stopped"): stays out
  ])('stopping=%s: registers again=%s', (stopping, again) => expect(registersAgainAfterRefusal(stopping)).toBe(again));
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
