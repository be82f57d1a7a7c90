/** How long a start booked at placement counts as starting now while its job_started event has not come. */
export const PENDING_START_MS = 10_000;

/**
 * How far past `now` a start may lie and still be kept at its time. Confirmed starts come in at their
 * workers' times, a little after a pass's `now`; one further ahead tells that the wall clock was
 * stepped back since it was recorded: it is moved to `now`, so the step does not hold its type back
 * for the step's own length on top of the interval. Bookings that far ahead are settled at once.
 */
export const CLOCK_AHEAD_TOLERANCE_MS = 1000;

/**
 * The starts of each type in its recent past, for the sliding-window rate limit: every start counts,
 * whatever its outcome. Times are milliseconds on PostgreSQL's clock as the leader estimates it (databaseTime).
 */
export class StartLog {
  private readonly starts = new Map<string, number[]>();
  /**
   * Starts booked at placement on a worker that starts the job itself, not confirmed yet (see
   * `started`): the job may start at any moment, so until its real start is known it counts in every
   * window as starting now. Kept at most PENDING_START_MS; a job that never starts (cancelled while
   * placed, its worker lost) then counts at its booking time.
   */
  private readonly pending = new Map<string, { type: string; at: number }>();
  /**
   * Bookings settled at their booking time unconfirmed (the job had not started in PENDING_START_MS:
   * its worker's queue was slow, Redis paused), by job: a start confirmed later moves there. Bounded.
   */
  private readonly settled = new Map<string, { type: string; at: number }>();

  /** A start at `at`; with `jobId`, a start booked at placement that its job_started event confirms. */
  record(type: string, at: number, jobId?: string): void {
    if (jobId !== undefined) {
      this.pending.delete(jobId);
      this.pending.set(jobId, { type, at });
      if (this.pending.size > 100_000) this.settle(this.pending.keys().next().value!);
      return;
    }
    const list = this.starts.get(type);
    if (!list) {
      this.starts.set(type, [at]);
      return;
    }
    // Nearly always appended in order; keep the list sorted when a late one comes in.
    let i = list.length;
    while (i > 0 && list[i - 1]! > at) i -= 1;
    list.splice(i, 0, at);
  }

  /**
   * The job booked at placement really started at `at` (a worker's queue starts it a little later):
   * its start is kept there, never earlier than its booking, so the windows also hold when counted
   * from the jobs' own start times. Returns the start as kept, or null when none was booked.
   */
  started(jobId: string, at: number): { type: string; at: number } | null {
    let booked = this.pending.get(jobId);
    if (booked) {
      this.pending.delete(jobId);
    } else {
      // Settled at its booking time before it started: counted there, it would leave the window early.
      booked = this.settled.get(jobId);
      if (!booked) return null;
      this.settled.delete(jobId);
      this.unrecord(booked.type, booked.at);
    }
    const start = { type: booked.type, at: Math.max(at, booked.at) };
    this.record(start.type, start.at);
    return start;
  }

  /** A booked start that was never confirmed counts at its booking time (until its start comes after all). */
  private settle(jobId: string): void {
    const booked = this.pending.get(jobId)!;
    this.pending.delete(jobId);
    this.record(booked.type, booked.at);
    this.settled.set(jobId, booked);
    if (this.settled.size > 10_000) this.settled.delete(this.settled.keys().next().value!);
  }

  /** Removes one start of `type` at `at`, if the window still holds it. */
  private unrecord(type: string, at: number): void {
    const list = this.starts.get(type);
    const i = list?.indexOf(at) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }

  /** Starts of `type` in the window (now - intervalMs, now], oldest first. Forgets older ones. */
  window(type: string, intervalMs: number, now: number): readonly number[] {
    let unconfirmed = 0;
    for (const [jobId, booked] of this.pending) {
      if (booked.type !== type) continue;
      if (now - booked.at >= PENDING_START_MS || booked.at - now > CLOCK_AHEAD_TOLERANCE_MS) this.settle(jobId);
      else unconfirmed += 1;
    }
    const list = this.starts.get(type);
    if (list) {
      const latest = now + CLOCK_AHEAD_TOLERANCE_MS;
      if (list.length > 0 && list[list.length - 1]! > latest) {
        for (let i = list.length - 1; i >= 0 && list[i]! > latest; i -= 1) list[i] = now;
        list.sort((a, b) => a - b);
      }
      let drop = 0;
      while (drop < list.length && list[drop]! <= now - intervalMs) drop += 1;
      if (drop > 0) list.splice(0, drop);
      if (list.length === 0) this.starts.delete(type);
    }
    if (unconfirmed === 0) return list ?? [];
    return [...(list ?? []), ...Array<number>(unconfirmed).fill(now)].sort((a, b) => a - b);
  }

  clear(): void {
    this.starts.clear();
    this.pending.clear();
    this.settled.clear();
  }

  /** Forgets every start of `type`, confirmed or not (its starts are about to be read afresh). */
  forget(type: string): void {
    this.starts.delete(type);
    for (const [jobId, booked] of this.pending) if (booked.type === type) this.pending.delete(jobId);
    for (const [jobId, booked] of this.settled) if (booked.type === type) this.settled.delete(jobId);
  }

  /** Types with starts kept, confirmed or not. */
  types(): string[] {
    return [...new Set([...this.starts.keys(), ...[...this.pending.values()].map((b) => b.type)])];
  }
}
