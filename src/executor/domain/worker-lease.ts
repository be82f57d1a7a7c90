/**
 * A worker's lease on its running jobs (DESIGN §4, §5). The scheduler declares a worker lost, fails
 * its running jobs with WORKER_LOST and runs them elsewhere once the worker has not heartbeaten for
 * WORKER_LOST_SECONDS. So a worker that could not renew in time (a GC pause, a frozen VM, a network
 * split) must assume its jobs already run elsewhere: it fences itself, aborting them before the
 * scheduler could retry them, and runs no handler until a heartbeat renews the lease. Pure: times
 * are milliseconds of one monotonic clock.
 */

/**
 * How long a heartbeat keeps the lease: three quarters of WORKER_LOST_SECONDS, so the worker stops
 * its jobs before the scheduler can declare it lost, but never less than two heartbeat intervals
 * (one late beat is not a lapse).
 */
export function workerLeaseMs(workerLostSeconds: number, heartbeatIntervalMs: number): number {
  return Math.max(Math.floor(workerLostSeconds * 1000 * 0.75), heartbeatIntervalMs * 2);
}

/** How often the worker checks its lease: often enough to abort within a tenth of it. */
export function leaseCheckMs(leaseMs: number): number {
  return Math.max(10, Math.min(100, Math.floor(leaseMs / 10)));
}

export class WorkerLease {
  /** When the last renewal that PostgreSQL accepted was sent (null: none yet). */
  private renewedAt: number | null = null;
  /** Set while the lease is lapsed and the worker fenced (once per lapse). */
  private fenced = false;
  /**
   * How many times the lease lapsed and was renewed since: a statement sent before a lapse whose answer
   * comes after the renewal finds the lease current, yet the worker may have been declared lost and its
   * jobs run elsewhere in between (compare the count taken before sending it).
   */
  lapses = 0;

  constructor(readonly leaseMs: number) {}

  /** A heartbeat sent at `sentAt` was accepted. The database stamped it later than that, so this is the safe side. */
  renew(sentAt: number): void {
    if (this.renewedAt !== null && sentAt - this.renewedAt >= this.leaseMs) this.lapses += 1;
    if (this.renewedAt === null || sentAt > this.renewedAt) this.renewedAt = sentAt;
  }

  /** True when no accepted renewal was sent within the last `leaseMs` (and one was, ever). */
  isLapsed(now: number): boolean {
    return this.renewedAt !== null && now - this.renewedAt >= this.leaseMs;
  }

  /** True when the worker must fence itself now: the lease is lapsed and it has not fenced for this lapse yet. */
  fenceIfLapsed(now: number): boolean {
    if (!this.isLapsed(now) || this.fenced) return false;
    this.fenced = true;
    return true;
  }

  /** After a renewal: true when it ends the fence (the lease is current again), so the worker takes jobs again. */
  liftFence(now: number): boolean {
    if (!this.fenced || this.isLapsed(now)) return false;
    this.fenced = false;
    return true;
  }

  /** Milliseconds since the last accepted renewal was sent (0 before the first). */
  silentFor(now: number): number {
    return this.renewedAt === null ? 0 : now - this.renewedAt;
  }
}

/**
 * Whether a worker whose heartbeat PostgreSQL refused (it was declared lost, or marked stopped)
 * registers again: yes, unless its shutdown has begun. A beat in flight when shutdown marked the worker
 * stopped is refused too, and a stopping worker must not be shown active, and given work, as it exits.
 */
export function registersAgainAfterRefusal(isStopping: boolean): boolean {
  return !isStopping;
}

/** Pause before writing an outcome again after PostgreSQL refused it: 50 ms doubling up to 2 s. */
export function outcomeRetryDelayMs(failures: number): number {
  return Math.min(2000, 50 * 2 ** Math.max(0, Math.min(failures - 1, 10)));
}

/**
 * How long a heartbeat is waited for before the next one is sent on another connection: two intervals,
 * at least a second, and at most a third of the lease, so that a beat stuck on a silent connection
 * leaves time for two more before the lease runs out. Pure.
 */
export function heartbeatPatienceMs(heartbeatIntervalMs: number, leaseMs: number): number {
  return Math.min(Math.max(2 * heartbeatIntervalMs, 1000), Math.max(Math.floor(leaseMs / 3), 1));
}
