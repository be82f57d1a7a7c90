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
 * The estimate is one reading of `clock_timestamp()`, placed at the middle of its round trip, carried
 * forward on the process's monotonic clock: a step of the process's wall clock changes nothing, and the
 * error is at most half the round trip of the reading kept. DatabaseClockSampler takes a reading at
 * startup and every 30 s, and keeps those of a short round trip (a reading queued behind a busy pool
 * says little). Until the first reading (and in code that runs without a database) it is `Date.now()`.
 */

/** A reading slower than this is kept only when the one held is older than STALE_MS. */
export const MAX_KEPT_ROUND_TRIP_MS = 100;
/** A reading this old is replaced by any newer one (the monotonic clock does not count a suspended VM's sleep). */
export const STALE_MS = 5 * 60_000;

interface Reading {
  /** PostgreSQL's clock at `monotonic`, in ms since the epoch. */
  databaseMs: number;
  monotonic: number;
  roundTripMs: number;
}

export class DatabaseTime {
  private reading: Reading | null = null;

  constructor(
    private readonly monotonic: () => number = () => performance.now(),
    private readonly wall: () => number = () => Date.now(),
  ) {}

  /** PostgreSQL's clock now, in ms since the epoch (the process's own until a first reading). */
  now(): number {
    const r = this.reading;
    return r ? r.databaseMs + (this.monotonic() - r.monotonic) : this.wall();
  }

  /** `now()` as a Date. */
  date(): Date {
    return new Date(this.now());
  }

  /** How far PostgreSQL's clock is ahead of this process's own (negative: behind), in ms; 0 before a reading. */
  offsetMs(): number {
    return this.reading ? this.now() - this.wall() : 0;
  }

  /**
   * Offers a reading: PostgreSQL's clock `databaseMs`, read by a statement sent at `sentAt` and answered
   * at `receivedAt` (both on the monotonic clock). Returns whether it was kept.
   */
  offer(databaseMs: number, sentAt: number, receivedAt: number): boolean {
    const roundTripMs = receivedAt - sentAt;
    if (!Number.isFinite(databaseMs) || !(roundTripMs >= 0)) return false;
    const held = this.reading;
    const keep = !held || roundTripMs <= MAX_KEPT_ROUND_TRIP_MS || receivedAt - held.monotonic >= STALE_MS;
    if (keep) this.reading = { databaseMs, monotonic: sentAt + roundTripMs / 2, roundTripMs };
    return keep;
  }

  /** Forgets the reading (the process's own clock again). */
  reset(): void {
    this.reading = null;
  }
}

/** The process's one estimate of PostgreSQL's clock. */
export const databaseTime = new DatabaseTime();
