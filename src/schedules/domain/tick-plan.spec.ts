import { describe, expect, it } from '@jest/globals';
import { catchUpKeeps, isMissed, isPausedAt, pauseSpanOf, pauseTimes, planTicks, triggerInstant } from './tick-plan.js';

const t = (s: number) => new Date(Date.UTC(2026, 0, 15, 10, 0, 0) + s * 1000);
const term = t(28); // a scheduler leading since 10:00:28: the ticks before it were missed
const iso = (ds: Date[]) => ds.map((d) => d.toISOString().slice(17, 19));

describe(isMissed.name, () => {
  it.each([
    // [term start (second), tick (second), missed]
    [20, 27, false], // late (a stalled database, a short pause), but the scheduler ran: it fires
    [20, 20, false],
    [20, 19, true], // before the term: no scheduler ran it
    [29, 28, true], // before the term, however shortly: it fell while the new leader was starting
    [29, 27, true],
    [29.5, 29, true],
  ])('with a term from second %i, a tick at second %i is missed: %s', (from, s, missed) => {
    expect(isMissed(t(s), t(from))).toBe(missed);
  });

  it('fires the late ticks of the term whatever catch_up says; those before it are caught up or dropped', () => {
    const plan = planTicks([t(10), t(20), t(25), t(29), t(30)], { pause: null, oldestKept: null, termStart: t(15) });
    expect(iso(plan.fire)).toEqual(['20', '25', '29', '30']);
    expect(plan.dropped.map((d) => `${iso([d.tick])[0]} ${d.reason}`)).toEqual(['10 catch_up']);
  });
});

describe(catchUpKeeps.name, () => {
  it.each([['none', 0], ['latest', 1], ['all', 100]] as const)('%s keeps %i', (mode, n) => expect(catchUpKeeps(mode)).toBe(n));
});

describe(planTicks.name, () => {
  const due = [t(10), t(20), t(25), t(29), t(30)]; // three missed, two on time
  const span = (from: number | null, until: number | null) => ({ from: from === null ? null : t(from), until: until === null ? null : t(until) });
  const said = (plan: ReturnType<typeof planTicks>) => plan.dropped.map((d) => `${iso([d.tick])[0]} ${d.reason}`);

  it.each([
    // [what, pause, oldestKept, ticks, fired, dropped (second and reason)]
    ['on time only', null, null, [t(29), t(30)], ['29', '30'], []],
    ['catch_up none: missed ticks dropped, on-time ones fire', null, null, due, ['29', '30'], ['10 catch_up', '20 catch_up', '25 catch_up']],
    ['catch_up latest: the most recent missed one fires too', null, t(25), due, ['25', '29', '30'], ['10 catch_up', '20 catch_up']],
    ['catch_up all: every missed one from the oldest kept fires, oldest first', null, t(10), due, ['10', '20', '25', '29', '30'], []],
    ['paused since before pauses were timed: everything dropped, nothing caught up', span(null, null), t(10), due, [],
      ['10 paused', '20 paused', '25 paused', '29 paused', '30 paused']],
    ['paused at :26: the ticks before the pause are decided as without it (catch_up latest keeps :25)', span(26, null), t(25), due, ['25'],
      ['10 catch_up', '20 catch_up', '29 paused', '30 paused']],
    ['paused :15 to :29 and handled after the resume: the ticks in between stay dropped, later ones fire', span(15, 29), t(10), due, ['10', '29', '30'],
      ['20 paused', '25 paused']],
    ['a leader stalled across a pause and resume (:28.5 to :29.5): the on-time tick that fell while paused is dropped',
      { from: new Date(t(28).getTime() + 500), until: new Date(t(29).getTime() + 500) }, null, [t(29), t(30)], ['30'], ['29 paused']],
    ['a leader stalled before a pause (:29.5 on): the tick that fell before it fires as it would have',
      { from: new Date(t(29).getTime() + 500), until: null }, null, [t(29), t(30)], ['29'], ['30 paused']],
    ['a tick at the pause instant is paused, one at the resume instant is not', span(20, 29), t(10), due, ['10', '29', '30'], ['20 paused', '25 paused']],
    ['resumed before any due tick: nothing paused', span(0, 5), null, due, ['29', '30'], ['10 catch_up', '20 catch_up', '25 catch_up']],
  ] as const)('%s', (_what, pause, oldestKept, ticks, fired, dropped) => {
    const plan = planTicks(ticks, { pause, oldestKept, termStart: term });
    expect(iso(plan.fire)).toEqual(fired);
    expect(said(plan)).toEqual(dropped);
  });

  it('decides a slice of a long outage alone: ticks before the oldest kept one are dropped', () => {
    const slice = [t(0), t(1), t(2)];
    expect(planTicks(slice, { pause: null, oldestKept: t(20), termStart: term })).toEqual({
      fire: [],
      dropped: slice.map((tick) => ({ tick, reason: 'catch_up' })),
    });
  });
});

describe(pauseSpanOf.name, () => {
  it.each([
    ['never paused', { paused: false, pausedAt: null, resumedAt: null }, null],
    ['paused: from its pause on', { paused: true, pausedAt: t(10), resumedAt: null }, { from: t(10), until: null }],
    ['paused before pauses were timed: every tick', { paused: true, pausedAt: null, resumedAt: null }, { from: null, until: null }],
    ['resumed: its last pause, up to the resume', { paused: false, pausedAt: t(10), resumedAt: t(20) }, { from: t(10), until: t(20) }],
    ['resumed from an untimed pause: every tick before the resume', { paused: false, pausedAt: null, resumedAt: t(20) }, { from: null, until: t(20) }],
    ['paused again after a resume: from the new pause on', { paused: true, pausedAt: t(25), resumedAt: t(20) }, { from: t(25), until: null }],
  ] as const)('%s', (_what, record, span) => expect(pauseSpanOf(record)).toEqual(span));
});

describe(isPausedAt.name, () => {
  it.each([
    [9, false], [10, true], [19, true], [20, false], [25, false],
  ])('a tick at second %i in the pause from :10 to :20: %s', (s, paused) => expect(isPausedAt(t(s), { from: t(10), until: t(20) })).toBe(paused));

  it('no span: never paused; an open one: paused from its start on', () => {
    expect(isPausedAt(t(10), null)).toBe(false);
    expect(isPausedAt(t(59), { from: t(10), until: null })).toBe(true);
    expect(isPausedAt(t(0), { from: null, until: null })).toBe(true);
  });
});

describe(pauseTimes.name, () => {
  const row = (paused: boolean, pausedAt: number | null, resumedAt: number | null, cursor: number | null) => ({
    paused,
    pausedAt: pausedAt === null ? null : t(pausedAt),
    resumedAt: resumedAt === null ? null : t(resumedAt),
    nextFireAt: cursor === null ? null : t(cursor),
  });
  const at = t(30);

  it.each([
    // [what, current, paused, pausedAt, resumedAt]
    ['a new schedule, not paused', null, false, null, null],
    ['a new schedule, paused: from its creation', null, true, 30, null],
    ['paused, and staying paused: unchanged', row(true, 10, null, 31), true, 10, null],
    ['running, and staying so: unchanged', row(false, 10, 20, 31), false, 10, 20],
    ['a pause: from now', row(false, null, null, 31), true, 30, null],
    ['a resume: the pause ends now', row(true, 10, null, 31), false, 10, 30],
    ['a resume of an untimed pause', row(true, null, null, 31), false, null, 30],
    ['a pause after the previous one was handled (cursor past its resume): from now', row(false, 10, 20, 25), true, 30, 20],
    ['a pause before the previous one was handled (cursor before its resume): the previous start is kept', row(false, 10, 20, 15), true, 10, 20],
    ['a pause of a schedule past its end_at: from now', row(false, 10, 20, null), true, 30, 20],
  ] as const)('%s', (_what, current, paused, pausedAt, resumedAt) => {
    expect(pauseTimes(current, paused, at)).toEqual({
      pausedAt: pausedAt === null ? null : t(pausedAt),
      resumedAt: resumedAt === null ? null : t(resumedAt),
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

