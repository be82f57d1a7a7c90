import { CATCH_UP_ALL_LIMIT, type CatchUpMode } from './schedule-policies.js';

export type SkipReason = 'paused' | 'catch_up' | 'overlap';

export interface TickPlan {
  /** Ticks to fire, oldest first. Each may still be skipped by the overlap policy. */
  fire: Date[];
  /** Ticks dropped, oldest first, with why (every one counts in skip_count). */
  dropped: Array<{ tick: Date; reason: SkipReason }>;
}

/**
 * When a schedule was paused, for judging each tick as of its own instant: ticks from `from`
 * (inclusive; null: from any time, the pause of a row stored before pauses were timed) until `until`
 * (exclusive; null: it is still paused) fell while it was paused.
 */
export interface PauseSpan {
  from: Date | null;
  until: Date | null;
}

/** What a schedule row records of its pauses. */
export interface PauseRecord {
  paused: boolean;
  pausedAt: Date | null;
  resumedAt: Date | null;
}

/**
 * The span a schedule's due ticks are judged against: while paused, from its pause on; once resumed,
 * its last pause up to the resume (a leader that reaches those ticks only after the resume drops them
 * still); null when it was never paused.
 */
export function pauseSpanOf(s: PauseRecord): PauseSpan | null {
  if (s.paused) return { from: s.pausedAt, until: null };
  if (!s.resumedAt) return null;
  return { from: s.pausedAt, until: s.resumedAt };
}

/** Whether a tick fell while the schedule was paused. */
export function isPausedAt(tick: Date, span: PauseSpan | null): boolean {
  if (!span) return false;
  const t = tick.getTime();
  return (!span.from || t >= span.from.getTime()) && (!span.until || t < span.until.getTime());
}

/**
 * The pause times a write of `paused` at instant `at` leaves on a schedule (`current`: the row before
 * it, null for a new one). Unchanged unless `paused` flips: a pause records when it began, a resume
 * when it ended, and a tick is later judged against them as of its own instant.
 *
 * Only the last pause is kept. A schedule paused again before the firing handled every tick of its
 * previous pause (the cursor is still before that resume: a stalled or absent leader) keeps the
 * previous pause's start, so one span covers both: the ticks between the two pauses are dropped too,
 * rather than the ones of the first pause firing. Pausing wins over firing when they cannot both be told.
 */
export function pauseTimes(
  current: (PauseRecord & { nextFireAt: Date | null }) | null,
  paused: boolean,
  at: Date,
): { pausedAt: Date | null; resumedAt: Date | null } {
  const kept = { pausedAt: current?.pausedAt ?? null, resumedAt: current?.resumedAt ?? null };
  if (paused === (current?.paused ?? false)) return kept;
  if (!paused) return { pausedAt: kept.pausedAt, resumedAt: at };
  const previousUnhandled =
    current !== null && !current.paused && current.resumedAt !== null && current.nextFireAt !== null &&
    current.nextFireAt.getTime() < current.resumedAt.getTime();
  return { pausedAt: previousUnhandled ? kept.pausedAt : at, resumedAt: kept.resumedAt };
}

/**
 * Ticks before this instant were missed (DESIGN §11: they fell while no scheduler ran): those that fell
 * before `termStart`, when the scheduler handling them began to lead. Every tick of the scheduler's own
 * term is late, not missed, however late (its database stalled, its process paused for less than its
 * lease): it fires whatever catch_up says. A tick that fell while a new leader was starting, however
 * shortly before its term, was missed: `none` drops it, `latest` fires it only as the most recent one.
 * Only the leader fires ticks, so there is always a term to judge by.
 */
export function isMissed(tick: Date, termStart: Date): boolean {
  return tick.getTime() < termStart.getTime();
}

/** How many of the most recent missed ticks `catch_up` fires. */
export function catchUpKeeps(mode: CatchUpMode): number {
  return mode === 'none' ? 0 : mode === 'latest' ? 1 : CATCH_UP_ALL_LIMIT;
}

/**
 * Decides which due ticks of a schedule fire (DESIGN §11). Pure.
 *
 * - A tick that fell while the schedule was paused (`pause`, judged at the tick's own instant, not
 *   when the tick is handled) is dropped, never caught up; one that fell before the pause, or after
 *   the resume, is decided as if there had been no pause.
 * - A tick that fell within the handling scheduler's term (`termStart`) is on time or late: it fires.
 * - The others were missed (isMissed); `catch_up` decides: `none` drops them, `latest` fires the most recent one,
 *   `all` fires the most recent CATCH_UP_ALL_LIMIT, oldest first, and drops the older rest.
 *
 * `ticks` are due ticks, oldest first: possibly only the oldest part of them (a long outage is
 * handled in slices). `oldestKept` is the oldest missed tick that catch_up keeps, found from the
 * newest missed ticks that were not paused (null when catch_up keeps none), so each slice is decided alone.
 */
export function planTicks(
  ticks: readonly Date[],
  options: { pause: PauseSpan | null; oldestKept: Date | null; termStart: Date },
): TickPlan {
  const { pause, oldestKept, termStart } = options;
  const plan: TickPlan = { fire: [], dropped: [] };
  for (const tick of ticks) {
    if (isPausedAt(tick, pause)) plan.dropped.push({ tick, reason: 'paused' });
    else if (!isMissed(tick, termStart)) plan.fire.push(tick);
    else if (oldestKept && tick.getTime() >= oldestKept.getTime()) plan.fire.push(tick);
    else plan.dropped.push({ tick, reason: 'catch_up' });
  }
  return plan;
}

/**
 * The `scheduled_for` of a manual trigger: the instant it was asked for, after the schedule's last fire
 * (so that concurrent triggers never share one), and never on a whole second. Cron ticks fall on whole
 * seconds (cron counts seconds; zone offsets are whole seconds too), and a job's `(schedule_id,
 * scheduled_for)` is unique: a trigger on a tick's instant would take the tick's slot, and the tick
 * would create nothing.
 */
export function triggerInstant(requested: Date, lastFireAt: Date | null): Date {
  const last = lastFireAt?.getTime() ?? 0;
  let at = last >= requested.getTime() ? last + 1 : requested.getTime();
  if (at % 1000 === 0) at += 1;
  return new Date(at);
}
