/**
 * How fast retention deletes (DESIGN §13: small batches with pauses, so pickup latency does not suffer).
 * Pure: durations are milliseconds.
 *
 * Each batch is its own short transaction. After a batch that took `t`, retention pauses long enough that
 * its batches take at most `busyPercent` of the time: `t × (100 − busyPercent) / busyPercent`, and never
 * less than `minPauseMs`. A database slowed by other work makes each batch slower, so retention slows
 * down with it and leaves the rest of the time to pickup, placements and completions; on a quiet database
 * it goes as fast as that share allows, so a backlog still clears.
 */
export interface RetentionPace {
  /** Jobs a batch deletes at most (RETENTION_BATCH_SIZE). */
  batchSize: number;
  /** The shortest pause between two batches (RETENTION_PAUSE_MS). */
  minPauseMs: number;
  /** The most of the time retention's batches take, in percent (RETENTION_BUSY_PERCENT); 100 = pause only minPauseMs. */
  busyPercent: number;
}

/** The longest pause between two batches, however long the last one took. */
export const MAX_RETENTION_PAUSE_MS = 60_000;

/** The pause after a batch that took `batchMs`. */
export function pauseAfterBatch(batchMs: number, pace: RetentionPace): number {
  const proportional = Math.ceil((Math.max(0, batchMs) * (100 - pace.busyPercent)) / pace.busyPercent);
  return Math.min(MAX_RETENTION_PAUSE_MS, Math.max(pace.minPauseMs, proportional));
}

/** Jobs a second retention deletes while batches are full and each takes `batchMs`. */
export function deletionRate(batchMs: number, pace: RetentionPace): number {
  const cycleMs = Math.max(0, batchMs) + pauseAfterBatch(batchMs, pace);
  return cycleMs === 0 ? Infinity : (pace.batchSize * 1000) / cycleMs;
}
