import { describe, expect, it } from '@jest/globals';
import { delayProblem, isAhead, latestRunAt, parseZonedInstant, resolveRunAt, runAtProblem, scheduledReason } from './run-at.js';

const NOW = new Date('2026-01-15T10:00:00.000Z');

describe(parseZonedInstant.name, () => {
  it.each([
    ['2026-01-15T09:00:00Z', '2026-01-15T09:00:00.000Z'],
    ['2026-01-15T09:00:00.123Z', '2026-01-15T09:00:00.123Z'],
    ['2026-01-15T09:00:00.123456789Z', '2026-01-15T09:00:00.124Z'],
    ['2026-01-15T09:00:00.123000Z', '2026-01-15T09:00:00.123Z'],
    ['2026-01-15T09:00:59.9999Z', '2026-01-15T09:01:00.000Z'],
    ['2026-01-15T09:00Z', '2026-01-15T09:00:00.000Z'],
    ['2026-01-15t09:00:00z', '2026-01-15T09:00:00.000Z'],
    ['2026-01-15T10:00:00+01:00', '2026-01-15T09:00:00.000Z'],
    ['2026-01-15T10:00:00+0100', '2026-01-15T09:00:00.000Z'],
    ['2026-01-15T10:00:00+01', '2026-01-15T09:00:00.000Z'],
    ['2026-01-15T03:30:00-05:30', '2026-01-15T09:00:00.000Z'],
    ['2026-01-15T00:30:00-09:00', '2026-01-15T09:30:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    const parsed = parseZonedInstant(text);
    expect('at' in parsed && parsed.at.toISOString()).toBe(iso);
  });

  it.each([
    ['2026-01-15T09:00:00', /no time zone/],
    ['2026-01-15 09:00:00', /no time zone/],
    ['2026-01-15', /no time zone/],
    ['tomorrow', /ISO-8601/],
    ['2026-01-15T09:00:00 Z', /ISO-8601/],
    ['1736931600000', /ISO-8601/],
    ['2026-02-29T00:00:00Z', /day that does not exist/],
    ['2026-13-01T00:00:00Z', /day that does not exist/],
    ['2026-04-31T00:00:00Z', /day that does not exist/],
    ['2026-01-15T24:00:00Z', /time of day/],
    ['2026-01-15T23:60:00Z', /time of day/],
    ['2026-01-15T23:59:60Z', /time of day/],
    ['2026-01-15T09:00:00+19:00', /offset/],
  ])('refuses %s', (text, reason) => {
    const parsed = parseZonedInstant(text);
    expect('problem' in parsed && parsed.problem).toMatch(reason);
  });
});

describe(runAtProblem.name, () => {
  it('accepts a past instant: as soon as possible', () => expect(runAtProblem('2020-01-01T00:00:00Z', NOW)).toBeNull());
  it('accepts exactly 10 years ahead', () => expect(runAtProblem('2036-01-15T10:00:00Z', NOW)).toBeNull());
  it('refuses more than 10 years ahead', () => expect(runAtProblem('2036-01-15T10:00:00.001Z', NOW)).toMatch(/more than 10 years ahead/));
  it('refuses what is not a string', () => expect(runAtProblem(1736931600000, NOW)).toMatch(/must be a string/));
  it('accepts 1970-01-01T00:00:00Z, the earliest', () => expect(runAtProblem('1970-01-01T00:00:00Z', NOW)).toBeNull());
  it.each(['1969-12-31T23:59:59.999Z', '0000-01-01T00:00:00Z', '0001-01-01T00:00:00+18:00', '0000-06-01T00:00:00+05:00'])(
    'refuses %s: before 1970, years the database may not store',
    (text) => expect(runAtProblem(text, NOW)).toMatch(/is before 1970-01-01T00:00:00.000Z/),
  );
});

describe(delayProblem.name, () => {
  it('accepts 0 and up to 10 years', () => {
    expect(delayProblem(0, NOW)).toBeNull();
    expect(delayProblem(latestRunAt(NOW).getTime() - NOW.getTime(), NOW)).toBeNull();
  });
  it('refuses more than 10 years', () => expect(delayProblem(latestRunAt(NOW).getTime() - NOW.getTime() + 1, NOW)).toMatch(/10 years/));
});

describe(latestRunAt.name, () => {
  it('is 10 calendar years on', () => expect(latestRunAt(NOW).toISOString()).toBe('2036-01-15T10:00:00.000Z'));
});

describe(resolveRunAt.name, () => {
  it('takes run_at as the instant it names, in UTC', () =>
    expect(resolveRunAt({ run_at: '2026-01-15T12:00:00+02:00' }, NOW)?.toISOString()).toBe('2026-01-15T10:00:00.000Z'));
  it('adds delay_ms to now', () => expect(resolveRunAt({ delay_ms: 1500 }, NOW)?.toISOString()).toBe('2026-01-15T10:00:01.500Z'));
  it('is null with neither', () => expect(resolveRunAt({}, NOW)).toBeNull());
});

describe(isAhead.name, () => {
  it('is true only for a later instant', () => {
    expect(isAhead(new Date(NOW.getTime() + 1), NOW)).toBe(true);
    expect(isAhead(NOW, NOW)).toBe(false);
    expect(isAhead(null, NOW)).toBe(false);
  });
});

describe(scheduledReason.name, () => {
  it('says until when, as DESIGN §2 asks', () =>
    expect(scheduledReason(new Date('2026-01-15T12:00:00Z'))).toEqual({
      code: 'SCHEDULED',
      message: 'delayed: may start at 2026-01-15T12:00:00.000Z',
      until: '2026-01-15T12:00:00.000Z',
    }));
});
