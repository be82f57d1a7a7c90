/**
 * Jobs finished per second over the last minutes: the history from `GET /stats/throughput` up to the
 * second the page started counting, then the live events as they arrive. A ring of one-second
 * buckets: counting a frame's batch is a loop over it, reading the series is one pass over the
 * window, and memory stays the same however long the page is open. Pure: no DOM.
 */
import type { JobEventName, Throughput } from './api/types.js';

/** Five minutes of one-second buckets. */
export const WINDOW_SECONDS = 300;

export type Outcome = 'completed' | 'failed';

/**
 * What an event counts as: a job that completed, or one that failed or timed out. The service
 * publishes job_failed / job_timeout for every failed attempt, and when a retry is left, a
 * job_retry_scheduled of the same job at the next sequence number right after it (the failure's own
 * data says `failed` either way): ThroughputBuckets.add leaves such a failure out, as the history does.
 */
export function outcomeOf(event: JobEventName): Outcome | null {
  if (event === 'job_completed') return 'completed';
  if (event === 'job_failed' || event === 'job_timeout') return 'failed';
  return null;
}

/** What add() reads of an event; the job id and sequence pair a failure with the retry after it. */
export type CountedEvent = { event: JobEventName; job_id?: string; data?: { sequence?: number } };

const pairKey = (update: CountedEvent, sequence: number) => `${update.job_id ?? ''} ${sequence}`;

/** uPlot's data: x in Unix seconds, then completed and failed per second. */
export type Series = [seconds: number[], completed: number[], failed: number[]];

/**
 * This clock minus the database's, from one `GET /stats/throughput` answer: its `now` is taken as
 * read halfway between sending the request and reading the answer.
 */
export function clockOffset(serverNow: string, sentMs: number, receivedMs: number): number {
  return Math.round((sentMs + receivedMs) / 2 - Date.parse(serverNow));
}

export class ThroughputBuckets {
  private readonly second: Float64Array;
  private readonly completed: Uint32Array;
  private readonly failed: Uint32Array;

  constructor(readonly windowSeconds = WINDOW_SECONDS) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 2) throw new RangeError('windowSeconds must be an integer of at least 2');
    this.second = new Float64Array(windowSeconds).fill(-1);
    this.completed = new Uint32Array(windowSeconds);
    this.failed = new Uint32Array(windowSeconds);
  }

  /**
   * Failures counted from the last batch, by job id and sequence: a retry that arrives in the next
   * batch (the two are sent together, but a frame may fall between them) takes its failure back.
   */
  private lastFailures = new Map<string, number>();

  /**
   * Counts a batch of events that arrived at `nowMs` (the arrival, not the server's stamp: clocks
   * differ). A failure followed by its job_retry_scheduled, in this batch or the next, is not an end.
   */
  add(batch: ReadonlyArray<CountedEvent>, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const retried = new Set<string>();
    for (const update of batch) {
      const sequence = update.data?.sequence;
      if (update.event !== 'job_retry_scheduled' || sequence === undefined) continue;
      const failure = pairKey(update, sequence - 1);
      const countedAt = this.lastFailures.get(failure);
      if (countedAt === undefined) retried.add(failure);
      else this.takeBackFailure(countedAt);
    }
    const failures = new Map<string, number>();
    let completed = 0;
    let failed = 0;
    for (const update of batch) {
      const outcome = outcomeOf(update.event);
      if (outcome === 'completed') completed += 1;
      if (outcome !== 'failed') continue;
      const sequence = update.data?.sequence;
      if (sequence === undefined) failed += 1;
      else if (!retried.has(pairKey(update, sequence))) {
        failed += 1;
        failures.set(pairKey(update, sequence), second);
      }
    }
    this.lastFailures = failures;
    if (completed > 0) this.record(second, 'completed', completed);
    if (failed > 0) this.record(second, 'failed', failed);
  }

  private takeBackFailure(second: number): void {
    const slot = this.slot(second);
    if (this.second[slot] === second && this.failed[slot]! > 0) this.failed[slot] -= 1;
  }

  /** Adds `n` to a second's bucket (a bucket last used a full window ago starts from zero). */
  record(second: number, outcome: Outcome, n = 1): void {
    const slot = this.slot(second);
    if (this.second[slot] !== second) {
      this.second[slot] = second;
      this.completed[slot] = 0;
      this.failed[slot] = 0;
    }
    (outcome === 'completed' ? this.completed : this.failed)[slot] += n;
  }

  /**
   * The window of whole seconds ending with the last one that is over at `nowMs` (the current
   * second is still counting, so it would always dip): seconds without events count zero.
   */
  series(nowMs: number): Series {
    const last = Math.floor(nowMs / 1000) - 1;
    const xs: number[] = new Array(this.windowSeconds);
    const completed: number[] = new Array(this.windowSeconds);
    const failed: number[] = new Array(this.windowSeconds);
    for (let i = 0; i < this.windowSeconds; i++) {
      const second = last - this.windowSeconds + 1 + i;
      const slot = this.slot(second);
      const held = this.second[slot] === second;
      xs[i] = second;
      completed[i] = held ? this.completed[slot]! : 0;
      failed[i] = held ? this.failed[slot]! : 0;
    }
    return [xs, completed, failed];
  }

  /**
   * Fills the seconds before `beforeSecond` (the second live counting began: later ones are the live
   * events' own) from the service's history, moved onto this clock by `clockOffsetMs` (this clock
   * minus the database's). Seconds that have left the window at `nowMs` are left out, so they never
   * clear a live bucket that shares their slot. Returns how many buckets it filled.
   */
  seed(history: Pick<Throughput, 'step_seconds' | 'items'>, beforeSecond: number, clockOffsetMs: number, nowMs: number): number {
    return this.fill(history, Math.floor(nowMs / 1000) - this.windowSeconds + 1, beforeSecond, clockOffsetMs);
  }

  /**
   * Sets the seconds from `fromSecond` to before `beforeSecond` (while the live feed was down: its events
   * of those seconds never came) to the service's history, replacing what the live events counted of
   * them. Seconds out of the window are left out. Returns how many buckets it set.
   */
  refill(history: Pick<Throughput, 'step_seconds' | 'items'>, fromSecond: number, beforeSecond: number, clockOffsetMs: number, nowMs: number): number {
    if (history.step_seconds !== 1) return 0;
    const oldest = Math.max(fromSecond, Math.floor(nowMs / 1000) - this.windowSeconds + 1);
    for (let second = oldest; second < beforeSecond; second++) {
      const slot = this.slot(second);
      this.second[slot] = second;
      this.completed[slot] = 0;
      this.failed[slot] = 0;
    }
    return this.fill(history, oldest, beforeSecond, clockOffsetMs);
  }

  /** Adds the history's buckets of the seconds from `oldest` to before `beforeSecond` (this clock's); how many it added. */
  private fill(history: Pick<Throughput, 'step_seconds' | 'items'>, oldest: number, beforeSecond: number, clockOffsetMs: number): number {
    if (history.step_seconds !== 1) return 0;
    const shift = Math.round(clockOffsetMs / 1000);
    let filled = 0;
    for (const bucket of history.items) {
      const second = Math.floor(Date.parse(bucket.at) / 1000) + shift;
      if (second >= beforeSecond || second < oldest) continue;
      if (bucket.completed > 0) this.record(second, 'completed', bucket.completed);
      if (bucket.failed > 0) this.record(second, 'failed', bucket.failed);
      filled += 1;
    }
    return filled;
  }

  private slot(second: number): number {
    return ((second % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
  }
}

/** The figures a reader gets in words beside the chart: the last whole second, the window's peak and total. */
export function summarize([, completed, failed]: Series): { completed: number; failed: number; peak: number; total: number } {
  let peak = 0;
  let total = 0;
  for (let i = 0; i < completed.length; i++) {
    const finished = completed[i]! + failed[i]!;
    peak = Math.max(peak, finished);
    total += finished;
  }
  return { completed: completed[completed.length - 1] ?? 0, failed: failed[failed.length - 1] ?? 0, peak, total };
}
