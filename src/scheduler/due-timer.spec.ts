import { describe, expect, it } from '@jest/globals';
import type { LeaderElection } from '../leadership/leader-election.js';
import { DueTimer } from './due-timer.js';

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('DueTimer', () => {
  it("keeps a wake-up armed while a round reads the next due time (the read may not see that job)", async () => {
    const next = deferred<Date | null>();
    const leader = { isLeader: () => true } as unknown as LeaderElection;
    const tasks = { isStopping: false, track: () => undefined };
    const due = new DueTimer(leader, tasks as never, { promoteDue: async () => [] } as never, { nextRetryAt: () => next.promise } as never, { kick: () => undefined } as never);
    const armedAt = () => (due as unknown as { timer: { armedAt: number | null } }).timer.armedAt;
    const run = due.promoteDue();
    await new Promise((resolve) => setImmediate(resolve));
    const soon = Date.now() + 1000;
    due.arm(soon); // a retry committed after the read's snapshot: its event arrives during the read
    next.resolve(new Date(Date.now() + 30_000));
    await run;
    expect(armedAt()).toBe(soon);
    due.stop();
  });
});

describe('DueTimer with a due job it cannot promote (locked by another transaction)', () => {
  it('looks again after a short wait, not round after round at once', async () => {
    let rounds = 0;
    const leader = { isLeader: () => true } as unknown as LeaderElection;
    const tasks = { isStopping: false, track: (work: Promise<unknown>) => void work };
    const lifecycle = { promoteDue: async () => ((rounds += 1), []) };
    const queue = { nextRetryAt: async () => new Date(Date.now() - 10) };
    const due = new DueTimer(leader, tasks as never, lifecycle as never, queue as never, { kick: () => undefined } as never);
    await due.promoteDue();
    await new Promise((resolve) => setTimeout(resolve, 120));
    due.stop();
    expect(rounds).toBeLessThanOrEqual(4);
    expect(rounds).toBeGreaterThanOrEqual(2);
  });
});
