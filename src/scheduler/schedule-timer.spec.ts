import { describe, expect, it } from '@jest/globals';
import { armDelay, ScheduleTimer } from './schedule-timer.js';

describe('armDelay', () => {
  const began = 1_000_000;

  it('sleeps until a future tick', () => {
    expect(armDelay(began + 1_500, began + 200, began)).toBe(1_300);
  });

  it('fires at once a tick that fell due during the round', () => {
    expect(armDelay(began + 100, began + 300, began)).toBe(0);
  });

  it('waits RETRY_MS before a tick the round left behind, so a held lock does not spin the loop', () => {
    expect(armDelay(began - 5, began + 300, began)).toBe(50);
    expect(armDelay(began, began + 300, began)).toBe(50);
  });

  it('sleeps at most a minute, as the earliest tick may move', () => {
    expect(armDelay(began + 3_600_000, began, began)).toBe(60_000);
  });
});

describe('ScheduleTimer: the term a firing judges missed ticks by', () => {
  /** A leadership this test hands over and takes back; the firing records the term start of each round. */
  function harness() {
    const listeners: Array<(leader: boolean) => void> = [];
    let epoch: number | null = null;
    let holding = false;
    const leader = {
      isLeader: () => holding,
      epoch: () => epoch,
      onChange: (listener: (leader: boolean) => void) => void listeners.push(listener),
    };
    const terms: Date[] = [];
    const firing = {
      handleDue: async (_limit: number, termStart: Date) => (terms.push(termStart), { claimed: 0, fired: 0 }),
      earliestNextFire: async () => null,
    };
    const bus = { onSignal: () => () => undefined };
    const timer = new ScheduleTimer(leader as never, firing as never, bus as never);
    timer.onModuleInit();
    const lead = (next: number | null) => {
      epoch = next;
      holding = true;
      listeners.forEach((l) => l(true));
    };
    const lose = () => ((holding = false), listeners.forEach((l) => l(false)));
    /** The lease ran out (a frozen process): no longer the leader, before the election's notice. */
    const lapse = () => (holding = false);
    return { timer, lead, lose, lapse, terms };
  }
  const later = () => new Promise((resolve) => setTimeout(resolve, 20));

  it('goes on when this process takes the leadership back with nobody between (a lease lost to a slow database)', async () => {
    const { timer, lead, lose } = harness();
    lead(7);
    const first = timer.termStart();
    await later();
    lose();
    await later();
    lead(8);
    expect(timer.termStart()).toEqual(first);
    await timer.onApplicationShutdown();
  });

  it('starts anew after another process led between', async () => {
    const { timer, lead, lose } = harness();
    lead(7);
    const first = timer.termStart()!;
    await later();
    lose();
    await later();
    lead(9);
    expect(timer.termStart()!.getTime()).toBeGreaterThan(first.getTime());
    await timer.onApplicationShutdown();
  });
});

describe('ScheduleTimer after its lease ran out, before it is told', () => {
  it('fires nothing', async () => {
    const listeners: Array<(leader: boolean) => void> = [];
    let holding = true;
    let rounds = 0;
    const leader = { isLeader: () => holding, epoch: () => 3, onChange: (l: (leader: boolean) => void) => void listeners.push(l) };
    const firing = { handleDue: async () => ((rounds += 1), { claimed: 0, fired: 0 }), earliestNextFire: async () => null };
    const timer = new ScheduleTimer(leader as never, firing as never, { onSignal: () => () => undefined } as never);
    timer.onModuleInit();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toBeGreaterThan(0); // leading: its first round fired
    const before = rounds;
    holding = false; // frozen past the lease; the election has not run yet
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the sweep's next round
    expect(rounds).toBe(before);
    await timer.onApplicationShutdown();
  });
});
