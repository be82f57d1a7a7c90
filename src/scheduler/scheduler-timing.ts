/** The scheduler's clock settings. Fixed, not configuration: they bound reaction times, not policy. */
export const SCHEDULER_TIMING = {
  /** Safety-net sweep: lost workers, stale placements, due retries, a placement pass. */
  sweepMs: 1000,
  /**
   * Ready jobs considered per placement round. A pass is what a job arriving meanwhile waits for,
   * however high its priority, so the window keeps passes short: with 1,000 jobs coming due at once,
   * passes of 500 made a job of higher priority wait 3-9 times its pickup alone at the p99, passes of
   * 100 2-5 times (0.44-0.65 of the wait with 500), and throughput did not move (bench/README,
   * "Schedule firing"). A pass's own fixed
   * cost (one read, one start statement) stays small beside 100 rows.
   */
  passWindow: 100,
  /**
   * How often waiting reasons are rewritten. Not on every pass: under load most jobs are placed
   * before their reason would matter, and each write is one more row version.
   */
  reasonRefreshMs: 1000,
  /**
   * How often the leader checks the counts by type and status against a count over the jobs table
   * (and at takeover). The check holds transitions for one scan of the table, so it is rare.
   */
  countsCheckMs: 10 * 60_000,
  /** A placed job not started after this long is handed to its worker again (Redis lost it). */
  placementGraceMs: 5000,
  /** A cancelled running job whose handler ignores its signal keeps its resources this long at most. */
  cancelGraceMs: 10_000,
} as const;
