import { Cron } from 'croner';
import type { FieldProblem } from '../common/errors/domain-error.js';
import { isPausedAt, type PauseSpan } from './domain/tick-plan.js';

/** The macros DESIGN §11 accepts, besides 5 and 6 fields. */
export const CRON_MACROS = ['@yearly', '@monthly', '@weekly', '@daily', '@hourly'] as const;

/**
 * Croner options. `no-wildcard`: a time without a wildcard or step in seconds, minutes and hours
 * (`30 2 * * *`, also `30 2,14 * * *`) is a fixed wall time: when the clocks jump forward past it,
 * it fires at the first instant after the gap; when they go back, it fires once, at its first
 * occurrence. An interval (`*\/15 * * * *`) runs in real time: twice through a repeated hour, and
 * not in a gap (the times in it do not exist).
 */
const CRON_OPTIONS = { paused: true, mode: '5-or-6-parts', fixedTimeRule: 'no-wildcard' } as const;

export interface CronBounds {
  startAt: Date | null;
  endAt: Date | null;
}

/** A valid cron expression (its fields single-spaced) and zone; or the problems, each naming its field. */
export type CronCheck = { cron: string; timezone: string } | { problems: FieldProblem[] };

/** Checks a cron expression and an IANA zone (DESIGN §11) with croner and Intl: no cron or zone arithmetic of our own. */
export function checkCron(cron: string, timezone: string): CronCheck {
  const problems: FieldProblem[] = [];
  const zone = canonicalZone(timezone);
  if (zone === null) {
    problems.push({ field: 'timezone', message: `timezone "${timezone.slice(0, 100)}" is not an IANA time zone name (e.g. "Europe/Berlin", "America/New_York", "UTC")` });
  }
  const text = cron.trim();
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (text.startsWith('@')) {
    if (!(CRON_MACROS as readonly string[]).includes(text)) {
      problems.push({ field: 'cron', message: `cron "${text.slice(0, 100)}" is not a known macro; use one of ${CRON_MACROS.join(', ')}` });
    }
  } else if (fields.length !== 5 && fields.length !== 6) {
    problems.push({
      field: 'cron',
      message: `cron must have 5 fields (minute hour day-of-month month day-of-week), 6 fields (seconds first) or be one of ${CRON_MACROS.join(', ')}; "${text.slice(0, 100)}" has ${fields.length}`,
    });
  }
  if (problems.some((p) => p.field === 'cron')) return { problems };
  const normalized = text.startsWith('@') ? text : fields.join(' ');
  const range = text.startsWith('@') ? null : outOfRange(fields);
  if (range) return { problems: [{ field: 'cron', message: `cron "${normalized.slice(0, 100)}" is invalid: ${range}` }] };
  let parsed: Cron;
  try {
    parsed = new Cron(normalized, { ...CRON_OPTIONS, timezone: zone ?? 'UTC' });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, '') : String(error);
    problems.push({ field: 'cron', message: `cron "${normalized.slice(0, 100)}" is invalid: ${reason}` });
    return { problems };
  }
  if (problems.length > 0) return { problems };
  if (parsed.nextRun() === null) {
    return { problems: [{ field: 'cron', message: `cron "${normalized}" never matches a date from now on` }] };
  }
  return { cron: normalized, timezone: zone! };
}

/** Each field's name and allowed values, seconds first; a 5-field cron starts at the minute. */
const FIELD_RANGES = [
  ['second', 0, 59],
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day-of-month', 1, 31],
  ['month', 1, 12],
  ['day-of-week', 0, 7],
] as const;

/**
 * The first number outside its field's range, said with the value as written (croner's own message
 * counts days and months from 0, so "32" in day-of-month would read "day: 31"). Step sizes (after `/`)
 * and the nth weekday (after `#`) are not field values and are left to croner.
 */
function outOfRange(fields: readonly string[]): string | null {
  const ranges = FIELD_RANGES.slice(fields.length === 5 ? 1 : 0);
  for (const [i, field] of fields.entries()) {
    const [name, min, max] = ranges[i]!;
    for (const part of field.split(',')) {
      for (const m of part.split('/')[0]!.split('#')[0]!.matchAll(/\d+/g)) {
        const value = Number(m[0]);
        if (value < min || value > max) return `${name}: ${m[0]} is out of range (${min}-${max})`;
      }
    }
  }
  return null;
}

function canonicalZone(timezone: string): string | null {
  if (timezone.length === 0 || timezone.length > 100) return null;
  try {
    // Intl reads a zone in any case; it is stored in the spelling of the IANA name (europe/berlin as
    // Europe/Berlin). Otherwise kept as given: Intl's canonical names are ICU's older ones (Asia/Kolkata
    // would become Asia/Calcutta).
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
    return resolved.toLowerCase() === timezone.toLowerCase() ? resolved : timezone;
  } catch {
    return null;
  }
}

/** Most remembered `nextRun` answers per expression and zone. */
const NEXT_LIMIT = 256;
/** Most remembered `previousRuns` answers per expression and zone. */
const PREVIOUS_LIMIT = 16;

/**
 * A parsed expression and zone (a Cron in paused mode keeps no timer), with its recent `nextRun`
 * answers: croner's search costs about 0.2 ms (measured beside a firing round), and schedules that share an
 * expression, a zone and a cursor (a thousand every-second schedules on one tick) ask the same
 * question; the answer depends on nothing else.
 */
class ParsedCron {
  private readonly answers = new Map<number, number | null>();
  private readonly previous = new Map<string, number[]>();

  constructor(private readonly cron: Cron) {}

  nextRun(after: Date): Date | null {
    const key = after.getTime();
    let at = this.answers.get(key);
    if (at === undefined) {
      at = this.cron.nextRun(after)?.getTime() ?? null;
      if (this.answers.size >= NEXT_LIMIT) this.answers.delete(this.answers.keys().next().value!);
      this.answers.set(key, at);
    }
    return at === null ? null : new Date(at);
  }

  /**
   * Up to `n` ticks counting back from `from`, newest first (croner's `previousRuns`), remembered too: a
   * catch-up asks it once per slice of every schedule behind, with the same `from` (the takeover).
   */
  previousRuns(n: number, from: Date): Date[] {
    const key = `${n}:${from.getTime()}`;
    let runs = this.previous.get(key);
    if (runs === undefined) {
      runs = this.cron.previousRuns(n, from).map((d) => d.getTime());
      if (this.previous.size >= PREVIOUS_LIMIT) this.previous.delete(this.previous.keys().next().value!);
      this.previous.set(key, runs);
    }
    return runs.map((t) => new Date(t));
  }
}

/** Parsed expressions, shared. */
const cache = new Map<string, ParsedCron>();
const CACHE_LIMIT = 10_000;

function cronOf(cron: string, timezone: string): ParsedCron {
  const key = `${timezone}\u0000${cron}`;
  let parsed = cache.get(key);
  if (!parsed) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    parsed = new ParsedCron(new Cron(cron, { ...CRON_OPTIONS, timezone }));
    cache.set(key, parsed);
  }
  return parsed;
}

/**
 * The ticks of one schedule: its cron in its zone, within its inclusive `start_at`/`end_at` bounds.
 * Every instant comes from croner; this class only compares instants with the bounds.
 */
export class CronClock {
  private readonly cron: ParsedCron;

  constructor(
    expression: string,
    timezone: string,
    private readonly bounds: CronBounds = { startAt: null, endAt: null },
  ) {
    this.cron = cronOf(expression, timezone);
  }

  /** The first tick strictly after `after`; null when there is none within the bounds. */
  next(after: Date): Date | null {
    let from = after;
    const { startAt, endAt } = this.bounds;
    // A tick exactly at start_at counts (inclusive): look from just before it.
    if (startAt && from.getTime() < startAt.getTime()) from = new Date(startAt.getTime() - 1);
    let tick = this.cron.nextRun(from);
    while (tick && startAt && tick.getTime() < startAt.getTime()) tick = this.cron.nextRun(tick);
    if (!tick || (endAt && tick.getTime() > endAt.getTime())) return null;
    return tick;
  }

  /** The next `n` ticks after `after`. */
  upcoming(n: number, after: Date): Date[] {
    const ticks: Date[] = [];
    let tick = this.next(after);
    while (tick && ticks.length < n) {
      ticks.push(tick);
      tick = this.next(tick);
    }
    return ticks;
  }

  /**
   * The due ticks from `cursor` (a tick, or the first instant that may hold one) up to `now`, oldest
   * first, at most `limit` of them, and the tick after them (`next`: the new cursor; null when none is
   * left within the bounds).
   */
  due(cursor: Date, now: Date, limit: number): { ticks: Date[]; next: Date | null } {
    const ticks: Date[] = [];
    let tick = this.next(new Date(cursor.getTime() - 1));
    while (tick && tick.getTime() <= now.getTime() && ticks.length < limit) {
      ticks.push(tick);
      tick = this.next(tick);
    }
    return { ticks, next: tick };
  }

  /**
   * The oldest of the `keep` most recent missed ticks (those before `termStart`, tick-plan.ts) at or
   * after `cursor`: what catch_up fires of a long outage. Null when `keep` is 0 or none was missed.
   * Ticks that fell while the schedule was paused (`pause`) are dropped, never caught up, so they take
   * no place among the kept ones: the count goes on before the pause.
   */
  oldestKept(keep: number, cursor: Date, termStart: Date, pause: PauseSpan | null = null): Date | null {
    if (keep === 0) return null;
    // previousRuns counts back from an instant: the newest tick before the missed boundary first. An
    // end_at passed meanwhile is the boundary: the ticks after it were never the schedule's to keep.
    const { endAt } = this.bounds;
    const boundary = endAt && endAt.getTime() < termStart.getTime() ? new Date(endAt.getTime() + 1) : termStart;
    const counted = (t: Date) => t.getTime() < boundary.getTime() && t.getTime() >= cursor.getTime() && this.within(t) && !isPausedAt(t, pause);
    const runs = this.cron.previousRuns(keep, boundary);
    const recent = runs.filter(counted);
    const oldestRun = runs[runs.length - 1];
    // The pause is one span: once counting resumes before it (or before the oldest tick read, when that
    // is older), no tick left to count is paused. A pause with no known start covers every earlier tick.
    if (recent.length < keep && oldestRun && pause?.from && runs.some((t) => isPausedAt(t, pause))) {
      const from = new Date(Math.min(pause.from.getTime(), oldestRun.getTime()));
      recent.push(...this.cron.previousRuns(keep - recent.length, from).filter(counted));
    }
    return recent.length > 0 ? recent[recent.length - 1]! : null;
  }

  private within(tick: Date): boolean {
    const { startAt, endAt } = this.bounds;
    return (!startAt || tick.getTime() >= startAt.getTime()) && (!endAt || tick.getTime() <= endAt.getTime());
  }
}
