import { describe, expect, it } from '@jest/globals';
import { leaderLeaseTiming, leaderVerdict, leaseHeldUntil } from './leader-lease.js';

describe(leaderLeaseTiming.name, () => {
  it.each([
    [15, { leaseMs: 7500, renewMs: 1000 }],
    [4, { leaseMs: 2000, renewMs: 666 }],
    [2, { leaseMs: 1000, renewMs: 333 }],
    [1, { leaseMs: 1000, renewMs: 333 }],
    [3600, { leaseMs: 30_000, renewMs: 1000 }],
  ])('WORKER_LOST_SECONDS=%i: %j', (seconds, timing) => expect(leaderLeaseTiming(seconds)).toEqual(timing));

  it.each([2, 4, 5, 15, 60, 600])('lets a follower take over within WORKER_LOST_SECONDS=%i (one lease and one try)', (seconds) => {
    const { leaseMs, renewMs } = leaderLeaseTiming(seconds);
    expect(leaseMs + renewMs).toBeLessThanOrEqual(seconds * 1000);
    expect(renewMs * 3).toBeLessThanOrEqual(leaseMs); // three renewals per lease: one late renewal is no loss
  });
});

describe(leaseHeldUntil.name, () => {
  it.each([
    [10_000, 7500, 17_000],
    [10_000, 2000, 11_800],
    [0, 1000, 900],
  ])('a renewal sent at %i with a %i ms lease holds until %i', (sentAt, leaseMs, until) => expect(leaseHeldUntil(sentAt, leaseMs)).toBe(until));
});

describe(leaderVerdict.name, () => {
  it.each([
    ['leads within its lease, its epoch current', { heldUntil: 2000, epoch: 7, epochSeen: 7 }, 1999, 'lead'],
    ['leads before its first read of the epoch', { heldUntil: 2000, epoch: 7, epochSeen: null }, 1000, 'lead'],
    ['lease expired on its own clock (frozen, cut off)', { heldUntil: 2000, epoch: 7, epochSeen: 7 }, 2000, 'lease-expired'],
    ['another process bumped the epoch', { heldUntil: 2000, epoch: 7, epochSeen: 8 }, 1000, 'superseded'],
    ['superseded wins over expired', { heldUntil: 2000, epoch: 7, epochSeen: 8 }, 5000, 'superseded'],
  ])('%s', (_what, state, now, verdict) => expect(leaderVerdict(state, now)).toBe(verdict));
});
