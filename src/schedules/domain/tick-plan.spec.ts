import { describe, expect, it } from '@jest/globals';
import { catchUpKeeps, isMissed, planTicks, triggerInstant } from './tick-plan.js';

const t = (s: number) => new Date(Date.UTC(2026, 0, 15, 10, 0, s));
const now = t(30); // 10:00:30: ticks older than 10:00:28 are missed
const iso = (ds: Date[]) => ds.map((d) => d.toISOString().slice(17, 19));

describe(isMissed.name, () => {
  it.each([[30, false], [28, false], [27, true], [0, true]])('a tick at second %i is missed at second 30: %s', (s, missed) =>
    expect(isMissed(t(s), now)).toBe(missed));
});

describe(catchUpKeeps.name, () => {
  it.each([['none', 0], ['latest', 1], ['all', 100]] as const)('%s keeps %i', (mode, n) => expect(catchUpKeeps(mode)).toBe(n));
});

describe(planTicks.name, () => {
  const due = [t(10), t(20), t(25), t(29), t(30)]; // three missed, two on time

  it.each([
    // [what, paused, oldestKept, fired, dropped]
    ['on time only', false, null, [t(29), t(30)], ['29', '30'], []],
    ['catch_up none: missed ticks dropped, on-time ones fire', false, null, due, ['29', '30'], ['10', '20', '25']],
    ['catch_up latest: the most recent missed one fires too', false, t(25), due, ['25', '29', '30'], ['10', '20']],
    ['catch_up all: every missed one from the oldest kept fires, oldest first', false, t(10), due, ['10', '20', '25', '29', '30'], []],
    ['paused: everything dropped, nothing caught up', true, t(10), due, [], ['10', '20', '25', '29', '30']],
  ] as const)('%s', (_what, paused, oldestKept, ticks, fired, dropped) => {
    const plan = planTicks(ticks, { paused, now, oldestKept });
    expect(iso(plan.fire)).toEqual(fired);
    expect(iso(plan.dropped.map((d) => d.tick))).toEqual(dropped);
  });

  it('names why each tick was dropped', () => {
    expect(planTicks([t(10)], { paused: false, now, oldestKept: null }).dropped).toEqual([{ tick: t(10), reason: 'catch_up' }]);
    expect(planTicks([t(30)], { paused: true, now, oldestKept: null }).dropped).toEqual([{ tick: t(30), reason: 'paused' }]);
  });

  it('decides a slice of a long outage alone: ticks before the oldest kept one are dropped', () => {
    const slice = [t(0), t(1), t(2)];
    expect(planTicks(slice, { paused: false, now, oldestKept: t(20) })).toEqual({
      fire: [],
      dropped: slice.map((tick) => ({ tick, reason: 'catch_up' })),
    });
  });
});

describe('triggerInstant', () => {
  const at = (iso: string) => new Date(iso);
  it('is the instant asked for, after the last fire', () => {
    expect(triggerInstant(at('2026-01-01T10:00:00.250Z'), at('2026-01-01T09:00:00Z')).toISOString()).toBe('2026-01-01T10:00:00.250Z');
    expect(triggerInstant(at('2026-01-01T10:00:00.250Z'), at('2026-01-01T10:00:00.400Z')).toISOString()).toBe('2026-01-01T10:00:00.401Z');
    expect(triggerInstant(at('2026-01-01T10:00:00.250Z'), null).toISOString()).toBe('2026-01-01T10:00:00.250Z');
  });

  it('never falls on a whole second, where a cron tick may fall', () => {
    expect(triggerInstant(at('2026-01-01T10:00:00.000Z'), null).toISOString()).toBe('2026-01-01T10:00:00.001Z');
    expect(triggerInstant(at('2026-01-01T09:59:59.000Z'), at('2026-01-01T09:59:59.999Z')).toISOString()).toBe('2026-01-01T10:00:00.001Z');
  });
});

