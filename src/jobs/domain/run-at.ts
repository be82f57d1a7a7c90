/**
 * Delayed jobs (DESIGN §10): reading `run_at` and `delay_ms`, the furthest a job may be put off,
 * and the SCHEDULED waiting reason. Pure: `now` is always given.
 */
import { WAITING } from '../../common/domain/waiting-reasons.js';

/** How far ahead a job may be put off: 10 calendar years from now (UTC). */
export const MAX_YEARS_AHEAD = 10;

/**
 * ISO-8601 date and time with a zone: `Z` or an offset (`+02:00`, `+0200`, `+02`); seconds and a
 * fraction are optional. A time without a zone is refused: it would mean a different instant on
 * every server, so the job would start at a time nobody chose.
 */
const ZONED_INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;
/** The same shape without the zone: recognised only to say what is missing. */
const UNZONED_INSTANT = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number) => (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!);

/**
 * The instant a zoned ISO-8601 text names, to the millisecond (finer digits round up: instants are
 * stored with millisecond precision, and a job must not start before the instant written), or a
 * reason it names none.
 */
export function parseZonedInstant(text: string): { at: Date } | { problem: string } {
  const m = ZONED_INSTANT.exec(text);
  if (!m) {
    if (UNZONED_INSTANT.test(text)) return { problem: 'has no time zone: end it with Z (UTC) or an offset such as +02:00' };
    return { problem: 'must be an ISO-8601 date and time with Z or an offset, e.g. 2026-01-15T09:00:00Z or 2026-01-15T10:00:00+01:00' };
  }
  const [, y, mo, d, h, mi, s, fraction, z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? 0);
  const offsetHours = Number(oh ?? 0);
  const offsetMinutes = Number(om ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return { problem: `names a day that does not exist (${y}-${mo}-${d})` };
  if (hour > 23 || minute > 59 || second > 59) return { problem: `names a time of day that does not exist (${h}:${mi}${s === undefined ? '' : `:${s}`})` };
  if (!z && (offsetHours > 18 || offsetMinutes > 59 || (offsetHours === 18 && offsetMinutes > 0))) {
    return { problem: `has an offset beyond ±18:00 (${sign}${oh}${om === undefined ? '' : `:${om}`})` };
  }
  // Rounded up to the millisecond an instant is stored with: a job never starts before the instant written.
  const digits = (fraction ?? '').padEnd(3, '0');
  const millis = Number(digits.slice(0, 3)) + (/[1-9]/.test(digits.slice(3)) ? 1 : 0);
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day);
  at.setUTCHours(hour, minute, second, millis);
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000 * (sign === '-' ? -1 : 1);
  return { at: new Date(at.getTime() - offsetMs) };
}

/**
 * The earliest `run_at` accepted. Any past instant means "as soon as possible", so nothing is lost by a floor,
 * and it keeps out years the database cannot store (year 0 and before).
 */
export const EARLIEST_RUN_AT = new Date(Date.UTC(1970, 0, 1));

/** The latest instant a job may be put off to: MAX_YEARS_AHEAD calendar years after `now`. */
export function latestRunAt(now: Date): Date {
  const latest = new Date(now.getTime());
  latest.setUTCFullYear(latest.getUTCFullYear() + MAX_YEARS_AHEAD);
  return latest;
}

/** Why `run_at` (as sent) is refused, or null when it is good. A past instant is good: it means "as soon as possible". */
export function runAtProblem(value: unknown, now: Date): string | null {
  if (typeof value !== 'string') return 'must be a string: an ISO-8601 date and time with Z or an offset';
  const parsed = parseZonedInstant(value);
  if ('problem' in parsed) return parsed.problem;
  if (parsed.at.getTime() > latestRunAt(now).getTime()) return `is more than ${MAX_YEARS_AHEAD} years ahead`;
  if (parsed.at.getTime() < EARLIEST_RUN_AT.getTime()) return `is before ${EARLIEST_RUN_AT.toISOString()}: a past instant means "at once", give the current time or leave run_at out`;
  return null;
}

/** Why `delay_ms` (an integer ≥ 0, checked by its own decorators) is refused, or null. */
export function delayProblem(delayMs: number, now: Date): string | null {
  if (now.getTime() + delayMs > latestRunAt(now).getTime()) return `is more than ${MAX_YEARS_AHEAD} years ahead`;
  return null;
}

/**
 * When a job may start at the earliest, from a submit's `run_at` or `delay_ms` (already validated),
 * or null when it gave neither.
 */
export function resolveRunAt(timing: { run_at?: string | null; delay_ms?: number }, now: Date): Date | null {
  if (timing.run_at != null) {
    const parsed = parseZonedInstant(timing.run_at);
    if ('problem' in parsed) throw new Error(`run_at was not validated: ${parsed.problem}`);
    return parsed.at;
  }
  if (timing.delay_ms !== undefined) return new Date(now.getTime() + timing.delay_ms);
  return null;
}

/** Whether a job with this `run_at` must still wait at `now`. */
export function isAhead(runAt: Date | null, now: Date): runAt is Date {
  return runAt !== null && runAt.getTime() > now.getTime();
}

/** DESIGN §10: the waiting reason of a job that waits `pending` for its `run_at`. */
export function scheduledReason(runAt: Date): { code: typeof WAITING.SCHEDULED; message: string; until: string } {
  const until = runAt.toISOString();
  return { code: WAITING.SCHEDULED, message: `delayed: may start at ${until}`, until };
}
