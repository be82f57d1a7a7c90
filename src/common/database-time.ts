/**
 * PostgreSQL's clock, as this process estimates it.
 *
 * Every instant the engine stores or compares with a stored one is PostgreSQL's: `created_at`,
 * `run_at`, `next_run_at`, `next_fire_at`, `started_at`, the starts a rate limit counts. A process
 * whose own clock is a few seconds off (machines drift, NTP steps, a VM resumes) must not judge those
 * by `Date.now()`: a scheduler leader 3 s behind fired ticks in bursts and dropped most of them under
 * `skip`, an API instance ahead started delayed jobs before their `run_at`, a worker behind cut retry
 * backoffs short. So every such judgement reads `databaseTime.now()`.
 *
 * A reading of `clock_timestamp()` is PostgreSQL's clock at some instant between the statement's
 * sending and its answer (a wait for a pooled connection included): so it bounds PostgreSQL's clock,
 * carried on the process's monotonic clock, between two values. Each reading narrows the bounds held
 * (their overlap); one that does not overlap them shows them wrong (PostgreSQL's clock was stepped, a
 * suspended VM's monotonic clock missed its sleep) and replaces them. `now()` is the process's own
 * clock when that lies within the bounds (on one machine, or machines kept in sync, it is exactly
 * `Date.now()`), else the nearer bound: a step of the process's wall clock changes nothing, and a slow
 * reading can only widen nothing. DatabaseClockSampler takes readings at startup and every 30 s. Until
 * the first (and in code that runs without a database) it is `Date.now()`.
 */

/** PostgreSQL's clock minus the monotonic clock lies between `low` and `high` (ms). */
interface Bounds {
  low: number;
  high: number;
}

export class DatabaseTime {
  private bounds: Bounds | null = null;

  constructor(
    private readonly monotonic: () => number = () => performance.now(),
    private readonly wall: () => number = () => Date.now(),
  ) {}

  /** PostgreSQL's clock now, in ms since the epoch (the process's own until a first reading). */
  now(): number {
    const wall = this.wall();
    const b = this.bounds;
    if (!b) return wall;
    const m = this.monotonic();
    return Math.min(Math.max(wall, m + b.low), m + b.high);
  }

  /** `now()` as a Date. */
  date(): Date {
    return new Date(this.now());
  }

  /** How far PostgreSQL's clock is ahead of this process's own (negative: behind), in ms; 0 while they agree. */
  offsetMs(): number {
    return this.bounds ? this.now() - this.wall() : 0;
  }

  /** The width of the bounds held (how well PostgreSQL's clock is known), in ms; null before a reading. */
  uncertaintyMs(): number | null {
    return this.bounds ? this.bounds.high - this.bounds.low : null;
  }

  /**
   * Offers a reading: PostgreSQL's clock `databaseMs`, read by a statement sent at `sentAt` and answered
   * at `receivedAt` (both on the monotonic clock). Returns whether the bounds changed.
   */
  offer(databaseMs: number, sentAt: number, receivedAt: number): boolean {
    if (!Number.isFinite(databaseMs) || !(receivedAt >= sentAt)) return false;
    const offered = { low: databaseMs - receivedAt, high: databaseMs - sentAt };
    const held = this.bounds;
    if (held && offered.low <= held.high && offered.high >= held.low) {
      const low = Math.max(held.low, offered.low);
      const high = Math.min(held.high, offered.high);
      if (low === held.low && high === held.high) return false;
      this.bounds = { low, high };
      return true;
    }
    this.bounds = offered;
    return true;
  }

  /** Forgets the readings (the process's own clock again). */
  reset(): void {
    this.bounds = null;
  }
}

/** The process's one estimate of PostgreSQL's clock. */
export const databaseTime = new DatabaseTime();
