import { describe, expect, it } from '@jest/globals';
import { checkCron, CronClock } from './cron-clock.js';

const at = (iso: string) => new Date(iso);
const next = (cron: string, zone: string, after: string, n = 3, bounds?: { startAt?: string; endAt?: string }) =>
  new CronClock(cron, zone, { startAt: bounds?.startAt ? at(bounds.startAt) : null, endAt: bounds?.endAt ? at(bounds.endAt) : null })
    .upcoming(n, at(after))
    .map((d) => d.toISOString());

describe('CronClock.next: field forms and macros (UTC)', () => {
  it.each([
    ['every minute', '* * * * *', '2026-01-15T10:00:30Z', ['2026-01-15T10:01:00.000Z', '2026-01-15T10:02:00.000Z', '2026-01-15T10:03:00.000Z']],
    ['a value', '5 * * * *', '2026-01-15T10:06:00Z', ['2026-01-15T11:05:00.000Z', '2026-01-15T12:05:00.000Z', '2026-01-15T13:05:00.000Z']],
    ['a list', '0,30 9 * * *', '2026-01-15T09:10:00Z', ['2026-01-15T09:30:00.000Z', '2026-01-16T09:00:00.000Z', '2026-01-16T09:30:00.000Z']],
    ['a range', '0 9-11 * * *', '2026-01-15T10:30:00Z', ['2026-01-15T11:00:00.000Z', '2026-01-16T09:00:00.000Z', '2026-01-16T10:00:00.000Z']],
    ['a step', '*/20 * * * *', '2026-01-15T10:05:00Z', ['2026-01-15T10:20:00.000Z', '2026-01-15T10:40:00.000Z', '2026-01-15T11:00:00.000Z']],
    ['a range with a step', '0 8-18/5 * * *', '2026-01-15T09:00:00Z', ['2026-01-15T13:00:00.000Z', '2026-01-15T18:00:00.000Z', '2026-01-16T08:00:00.000Z']],
    ['day of month and month', '0 0 1 3 *', '2026-01-15T00:00:00Z', ['2026-03-01T00:00:00.000Z', '2027-03-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z']],
    ['day of week by name', '0 12 * * MON', '2026-01-15T00:00:00Z', ['2026-01-19T12:00:00.000Z', '2026-01-26T12:00:00.000Z', '2026-02-02T12:00:00.000Z']],
    ['day of month OR day of week', '0 0 1 * SUN', '2026-01-28T00:00:00Z', ['2026-02-01T00:00:00.000Z', '2026-02-08T00:00:00.000Z', '2026-02-15T00:00:00.000Z']],
    ['six fields: seconds first', '*/10 * * * * *', '2026-01-15T10:00:05Z', ['2026-01-15T10:00:10.000Z', '2026-01-15T10:00:20.000Z', '2026-01-15T10:00:30.000Z']],
    ['every second', '* * * * * *', '2026-01-15T10:00:00.400Z', ['2026-01-15T10:00:01.000Z', '2026-01-15T10:00:02.000Z', '2026-01-15T10:00:03.000Z']],
    ['@hourly', '@hourly', '2026-01-15T10:00:00Z', ['2026-01-15T11:00:00.000Z', '2026-01-15T12:00:00.000Z', '2026-01-15T13:00:00.000Z']],
    ['@daily', '@daily', '2026-01-15T10:00:00Z', ['2026-01-16T00:00:00.000Z', '2026-01-17T00:00:00.000Z', '2026-01-18T00:00:00.000Z']],
    ['@weekly (Sundays)', '@weekly', '2026-01-15T10:00:00Z', ['2026-01-18T00:00:00.000Z', '2026-01-25T00:00:00.000Z', '2026-02-01T00:00:00.000Z']],
    ['@monthly', '@monthly', '2026-01-15T10:00:00Z', ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']],
    ['@yearly', '@yearly', '2026-01-15T10:00:00Z', ['2027-01-01T00:00:00.000Z', '2028-01-01T00:00:00.000Z', '2029-01-01T00:00:00.000Z']],
  ])('%s: %s', (_name, cron, after, expected) => expect(next(cron, 'UTC', after)).toEqual(expected));

  it('follows the zone: 09:00 Berlin is 08:00 UTC in winter and 07:00 UTC in summer', () => {
    expect(next('0 9 * * *', 'Europe/Berlin', '2026-01-15T12:00:00Z', 1)).toEqual(['2026-01-16T08:00:00.000Z']);
    expect(next('0 9 * * *', 'Europe/Berlin', '2026-07-15T12:00:00Z', 1)).toEqual(['2026-07-16T07:00:00.000Z']);
  });
});

/**
 * DST days (DESIGN §11): a wall time that does not exist (clocks jump forward) fires at the next
 * valid instant of that day; one that occurs twice (clocks go back) fires once.
 * Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET (02:00-02:59 twice).
 * New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST (01:00-01:59 twice).
 */
describe('CronClock.next across DST changes', () => {
  it.each([
    // [zone, cron, after, the next three ticks, what happens]
    ['Europe/Berlin', '30 2 * * *', '2026-03-28T12:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'], '02:30 does not exist on 29 March: fires at 03:00 CEST, then 02:30 CEST'],
    ['Europe/Berlin', '30 2 * * *', '2026-10-24T12:00:00Z', ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z'], '02:30 occurs twice on 25 October: fires once, at the first (CEST)'],
    ['Europe/Berlin', '30 1 * * *', '2026-10-24T12:00:00Z', ['2026-10-24T23:30:00.000Z', '2026-10-26T00:30:00.000Z', '2026-10-27T00:30:00.000Z'], '01:30 is before the change in Berlin: once a day, as always'],
    ['America/New_York', '30 2 * * *', '2026-03-07T12:00:00Z', ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z'], '02:30 does not exist on 8 March: fires at 03:00 EDT'],
    ['America/New_York', '30 1 * * *', '2026-10-31T12:00:00Z', ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z'], '01:30 occurs twice on 1 November: fires once, at the first (EDT)'],
    ['America/New_York', '0 30 1 * * *', '2026-10-31T12:00:00Z', ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z'], 'the same with a seconds field'],
    ['Europe/Berlin', '30 2,14 * * *', '2026-03-29T00:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-03-29T12:30:00.000Z', '2026-03-30T00:30:00.000Z'], 'a list of fixed times is fixed too: 02:30 moves to 03:00'],
  ])('%s %s after %s', (zone, cron, after, expected) => expect(next(cron, zone, after)).toEqual(expected));

  it('runs an interval in real time through the repeated hour (Berlin, every 30 minutes)', () => {
    expect(next('*/30 * * * *', 'Europe/Berlin', '2026-10-25T00:10:00Z', 4)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z', // 02:30 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ]);
  });

  it('skips the times of an interval that fall in the gap (New York, every 30 minutes)', () => {
    expect(next('*/30 * * * *', 'America/New_York', '2026-03-08T06:10:00Z', 3)).toEqual([
      '2026-03-08T06:30:00.000Z', // 01:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT (02:00 and 02:30 do not exist)
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
    ]);
  });
});

describe('CronClock bounds', () => {
  it('includes a tick exactly at start_at and one exactly at end_at', () => {
    expect(next('0 * * * *', 'UTC', '2026-01-01T00:00:00Z', 5, { startAt: '2026-01-15T10:00:00Z', endAt: '2026-01-15T12:00:00Z' })).toEqual([
      '2026-01-15T10:00:00.000Z',
      '2026-01-15T11:00:00.000Z',
      '2026-01-15T12:00:00.000Z',
    ]);
  });

  it('has no next tick past end_at', () => {
    expect(new CronClock('* * * * *', 'UTC', { startAt: null, endAt: at('2026-01-15T10:00:00Z') }).next(at('2026-01-15T10:00:00Z'))).toBeNull();
  });
});

describe('CronClock.due and oldestKept', () => {
  const clock = new CronClock('* * * * * *', 'UTC');
  it('lists the due ticks from the cursor up to now, at most `limit`', () => {
    const due = clock.due(at('2026-01-15T10:00:00Z'), at('2026-01-15T10:00:03.500Z'), 10);
    expect(due.ticks.map((d) => d.toISOString())).toEqual([
      '2026-01-15T10:00:00.000Z', '2026-01-15T10:00:01.000Z', '2026-01-15T10:00:02.000Z', '2026-01-15T10:00:03.000Z',
    ]);
    expect(due.next?.toISOString()).toBe('2026-01-15T10:00:04.000Z');
    expect(clock.due(at('2026-01-15T10:00:00Z'), at('2026-01-15T10:00:03.500Z'), 2).next?.toISOString()).toBe('2026-01-15T10:00:02.000Z');
  });

  it('finds the oldest of the most recent missed ticks that catch_up keeps', () => {
    const term = at('2026-01-15T10:09:58.500Z'); // a scheduler leading since then: ticks up to 10:09:58 were missed
    expect(clock.oldestKept(1, at('2026-01-15T10:00:00Z'), term)?.toISOString()).toBe('2026-01-15T10:09:58.000Z');
    expect(clock.oldestKept(100, at('2026-01-15T10:00:00Z'), term)?.toISOString()).toBe('2026-01-15T10:08:19.000Z');
    expect(clock.oldestKept(100, at('2026-01-15T10:09:50Z'), term)?.toISOString()).toBe('2026-01-15T10:09:50.000Z');
    expect(clock.oldestKept(0, at('2026-01-15T10:00:00Z'), term)).toBeNull();
    // A scheduler leading since 10:05:00.5: the ticks of its term are late, not missed; catch_up counts back from before it.
    const termStart = at('2026-01-15T10:05:00.500Z');
    expect(clock.oldestKept(1, at('2026-01-15T10:00:00Z'), termStart)?.toISOString()).toBe('2026-01-15T10:05:00.000Z');
    expect(clock.oldestKept(100, at('2026-01-15T10:00:00Z'), termStart)?.toISOString()).toBe('2026-01-15T10:03:21.000Z');
    // A scheduler that began to lead 0.1 s ago: every tick before its term was missed, the youngest too.
    expect(clock.oldestKept(1, at('2026-01-15T10:00:00Z'), at('2026-01-15T10:10:00.400Z'))?.toISOString()).toBe('2026-01-15T10:10:00.000Z');
  });

  it('counts the kept ticks back from end_at when end_at passed while no scheduler ran', () => {
    const hourly = new CronClock('0 * * * *', 'UTC', { startAt: null, endAt: at('2026-01-15T10:30:00Z') });
    expect(hourly.oldestKept(1, at('2026-01-15T09:00:00Z'), at('2026-01-15T13:05:00Z'))?.toISOString()).toBe('2026-01-15T10:00:00.000Z');
    expect(hourly.oldestKept(100, at('2026-01-15T09:00:00Z'), at('2026-01-20T13:05:00Z'))?.toISOString()).toBe('2026-01-15T09:00:00.000Z');
    const atEnd = new CronClock('0 * * * *', 'UTC', { startAt: null, endAt: at('2026-01-15T11:00:00Z') });
    expect(atEnd.oldestKept(1, at('2026-01-15T09:00:00Z'), at('2026-01-15T13:05:00Z'))?.toISOString()).toBe('2026-01-15T11:00:00.000Z');
  });

  it.each([
    // [what, keep, pause from, pause until, oldest kept]
    ['resumed after the last missed tick: the newest missed tick before the pause', 1, '10:09:00', '10:09:59.500', '10:08:59'],
    ['resumed before it: the newest missed tick after the resume', 1, '10:09:00', '10:09:55', '10:09:58'],
    ['the paused ticks take no place: the count goes on before the pause', 3, '10:09:57', '10:09:58', '10:09:55'],
    ['still paused, catch_up all: the 100 newest before the pause', 100, '10:09:00', null, '10:07:20'],
    ['a pause with no known start: nothing before its resume', 1, null, '10:09:59.500', null],
  ])('leaves out the ticks that fell while paused: %s', (_what, keep, from, until, kept) => {
    const term = at('2026-01-15T10:09:58.500Z');
    const time = (hms: string | null) => (hms === null ? null : at(`2026-01-15T${hms}Z`));
    const found = clock.oldestKept(keep, at('2026-01-15T10:00:00Z'), term, { from: time(from), until: time(until) });
    expect(found?.toISOString() ?? null).toBe(kept === null ? null : time(kept)!.toISOString());
  });
});

describe('CronClock: schedules sharing an expression and zone', () => {
  it('answer each with its own bounds and their own dates, however often the same instant is asked', () => {
    const plain = new CronClock('*/10 * * * * *', 'UTC');
    const bounded = new CronClock('*/10 * * * * *', 'UTC', { startAt: at('2026-01-15T10:00:30Z'), endAt: at('2026-01-15T10:00:40Z') });
    const after = at('2026-01-15T10:00:05Z');
    const first = plain.next(after)!;
    expect(first.toISOString()).toBe('2026-01-15T10:00:10.000Z');
    first.setTime(0); // a caller's change of its date is not another's answer
    expect(plain.next(after)!.toISOString()).toBe('2026-01-15T10:00:10.000Z');
    expect(bounded.upcoming(3, after).map((d) => d.toISOString())).toEqual(['2026-01-15T10:00:30.000Z', '2026-01-15T10:00:40.000Z']);
    expect(plain.due(at('2026-01-15T10:00:10Z'), at('2026-01-15T10:00:31Z'), 10).ticks.map((d) => d.toISOString())).toEqual([
      '2026-01-15T10:00:10.000Z', '2026-01-15T10:00:20.000Z', '2026-01-15T10:00:30.000Z',
    ]);
  });
});

describe(checkCron.name, () => {
  it.each([
    ['* * * * * * *', 'UTC', 'cron', 'has 7'],
    ['* * * *', 'UTC', 'cron', 'has 4'],
    ['61 * * * *', 'UTC', 'cron', 'minute: 61'],
    ['* 24 * * *', 'UTC', 'cron', 'hour: 24'],
    ['0 0 32 * *', 'UTC', 'cron', 'day-of-month: 32 is out of range (1-31)'],
    ['0 0 0 * *', 'UTC', 'cron', 'day-of-month: 0 is out of range (1-31)'],
    ['0 0 * 13 *', 'UTC', 'cron', 'month: 13 is out of range (1-12)'],
    ['0 0 * 0-3 *', 'UTC', 'cron', 'month: 0 is out of range (1-12)'],
    ['60 * * * * *', 'UTC', 'cron', 'second: 60 is out of range (0-59)'],
    ['0 0 * * 8', 'UTC', 'cron', 'day-of-week: 8 is out of range (0-7)'],
    ['@every 10s', 'UTC', 'cron', 'not a known macro'],
    ['@reboot', 'UTC', 'cron', 'not a known macro'],
    ['0 0 30 2 *', 'UTC', 'cron', 'never matches'],
    ['* * * * *', 'Mars/Olympus_Mons', 'timezone', 'not an IANA time zone'],
    ['* * * * *', '', 'timezone', 'not an IANA time zone'],
  ])('refuses cron %j in zone %j, naming %s', (cron, zone, field, text) => {
    const result = checkCron(cron, zone);
    expect('problems' in result).toBe(true);
    const problems = (result as { problems: Array<{ field: string; message: string }> }).problems;
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.find((p) => p.field === field)!.message).toContain(text);
  });

  it.each([
    ['*/5 * * * *', 'Europe/Berlin', '*/5 * * * *', 'Europe/Berlin'],
    ['  0   9 * * 1-5 ', 'America/New_York', '0 9 * * 1-5', 'America/New_York'],
    ['@daily', 'UTC', '@daily', 'UTC'],
    ['0 0 12 * * *', 'Asia/Kolkata', '0 0 12 * * *', 'Asia/Kolkata'],
    ['*/45 0-59/7 */10 L JAN-DEC MON#2', 'UTC', '*/45 0-59/7 */10 L JAN-DEC MON#2', 'UTC'],
    ['0 0 0 15W 1,12 5L', 'UTC', '0 0 0 15W 1,12 5L', 'UTC'],
    ['59 23 31 12 0,7', 'UTC', '59 23 31 12 0,7', 'UTC'],
    // A zone in another case is stored as the IANA name is spelt; an alias or a link stays as given.
    ['@daily', 'europe/berlin', '@daily', 'Europe/Berlin'],
    ['@daily', 'AMERICA/NEW_YORK', '@daily', 'America/New_York'],
    ['@daily', 'utc', '@daily', 'UTC'],
    ['@daily', 'Etc/UTC', '@daily', 'Etc/UTC'],
    ['@daily', 'US/Eastern', '@daily', 'US/Eastern'],
  ])('accepts %j in %s', (cron, zone, canonicalCron, canonicalZone) =>
    expect(checkCron(cron, zone)).toEqual({ cron: canonicalCron, timezone: canonicalZone }));
});
