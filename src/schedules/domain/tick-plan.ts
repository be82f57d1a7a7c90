import { CATCH_UP_ALL_LIMIT, MISSED_AFTER_MS, type CatchUpMode } from './schedule-policies.js';

export type SkipReason = 'paused' | 'catch_up' | 'overlap';

export interface TickPlan {
  /** Ticks to fire, oldest first. Each may still be skipped by the overlap policy. */
  fire: Date[];
  /** Ticks dropped, oldest first, with why (every one counts in skip_count). */
  dropped: Array<{ tick: Date; reason: SkipReason }>;
}

/** Whether a due tick was missed (fell while no scheduler ran, or it stalled) rather than being on time. */
export function isMissed(tick: Date, now: Date): boolean {
  return now.getTime() - tick.getTime() > MISSED_AFTER_MS;
}

/** How many of the most recent missed ticks `catch_up` fires. */
export function catchUpKeeps(mode: CatchUpMode): number {
  return mode === 'none' ? 0 : mode === 'latest' ? 1 : CATCH_UP_ALL_LIMIT;
}

/**
 * Decides which due ticks of a schedule fire (DESIGN §11). Pure.
 *
 * - A paused schedule drops every due tick (never caught up).
 * - A tick due for at most MISSED_AFTER_MS is on time: it fires.
 * - Older ones were missed; `catch_up` decides: `none` drops them, `latest` fires the most recent one,
 *   `all` fires the most recent CATCH_UP_ALL_LIMIT, oldest first, and drops the older rest.
 *
 * `ticks` are due ticks, oldest first: possibly only the oldest part of them (a long outage is
 * handled in slices). `oldestKept` is the oldest missed tick that catch_up keeps, found from the
 * newest missed ticks (null when catch_up keeps none), so each slice is decided alone.
 */
export function planTicks(ticks: readonly Date[], options: { paused: boolean; now: Date; oldestKept: Date | null }): TickPlan {
  const { paused, now, oldestKept } = options;
  const plan: TickPlan = { fire: [], dropped: [] };
  for (const tick of ticks) {
    if (paused) plan.dropped.push({ tick, reason: 'paused' });
    else if (!isMissed(tick, now)) plan.fire.push(tick);
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
