import type { Resources } from './placement.js';

export interface Booking {
  workerId: string;
  cpuUnits: number;
  memoryMb: number;
  /** The job's type and concurrency key: the queue rules count placed and running jobs by them (DESIGN §12). */
  type: string;
  concurrencyKey: string | null;
  /**
   * The run the booking is for (the job's `attempts` once that run has started): a release names the
   * run that ended, and one of an earlier run, arriving late, must not free a later run's booking.
   */
  attempt: number;
}

/**
 * The leader's copy of the allocation ledger (DESIGN §4): what each placed, unfinished job holds.
 * Rebuilt from the jobs table (at leadership, on every sweep, after anything the leader cannot
 * follow exactly, such as cancels of running jobs), and kept current in between from its own
 * placements and the completion events, so a placement pass needs no ledger query. Besides what
 * each worker holds, it counts the jobs placed or running per type and per (type, key) pair, kept
 * current with every booking and release rather than added up again by every placement pass.
 */
export class AllocationLedger {
  private readonly bookings = new Map<string, Booking>();
  private readonly byType = new Map<string, number>();
  /** Per (type, key), keyed by `pairKey`. */
  private readonly byKey = new Map<string, number>();
  /** Releases seen while a rebuild was reading the table (job id -> the run that ended); applied to its result. */
  private releasedDuringRebuild: Map<string, number> | null = null;
  stale = true;

  /** `pairKey` names a (type, concurrency key) pair in the counts. */
  constructor(private readonly pairKey: (type: string, key: string) => string) {}

  book(jobId: string, booking: Booking): void {
    const before = this.bookings.get(jobId);
    if (before) this.count(before, -1);
    this.bookings.set(jobId, booking);
    this.count(booking, 1);
  }

  /**
   * The run `attempt` of the job ended: its booking goes, unless it is for a later run (a failure's
   * event of run n that arrives after run n+1 was placed). Without `attempt`, any booking goes.
   */
  release(jobId: string, attempt = Number.POSITIVE_INFINITY): void {
    const before = this.bookings.get(jobId);
    if (before && before.attempt <= attempt) {
      this.count(before, -1);
      this.bookings.delete(jobId);
    }
    if (this.releasedDuringRebuild) this.releasedDuringRebuild.set(jobId, Math.max(attempt, this.releasedDuringRebuild.get(jobId) ?? 0));
  }

  async rebuild(read: () => Promise<Array<{ id: string } & Booking>>): Promise<void> {
    this.releasedDuringRebuild = new Map();
    this.stale = false;
    try {
      const rows = await read();
      this.bookings.clear();
      this.byType.clear();
      this.byKey.clear();
      for (const row of rows) {
        const released = this.releasedDuringRebuild.get(row.id);
        if (released === undefined || released < row.attempt) this.book(row.id, row);
      }
    } catch (error) {
      this.stale = true;
      throw error;
    } finally {
      this.releasedDuringRebuild = null;
    }
  }

  /**
   * Jobs placed or running per type, and per (type, concurrency key) keyed by `pairKey`: the ledger's
   * own counts, current until its next change (copy them to keep them).
   */
  runningCounts(): { byType: ReadonlyMap<string, number>; byKey: ReadonlyMap<string, number> } {
    return { byType: this.byType, byKey: this.byKey };
  }

  /** What is booked on each worker. */
  usage(): Map<string, Resources> {
    return usageOf(this.bookings.values());
  }

  private count(b: Booking, by: 1 | -1): void {
    add(this.byType, b.type, by);
    if (b.concurrencyKey !== null) add(this.byKey, this.pairKey(b.type, b.concurrencyKey), by);
  }
}

/** Adds `by` to the count of `counts[name]`, dropping it at zero. */
function add(counts: Map<string, number>, name: string, by: number): void {
  const n = (counts.get(name) ?? 0) + by;
  if (n > 0) counts.set(name, n);
  else counts.delete(name);
}

/**
 * What the given bookings hold on each worker: one slot each, plus their cpu units and memory. The
 * one place where an allocation is added up, for the leader's ledger and for GET /workers alike.
 */
export function usageOf(bookings: Iterable<Pick<Booking, 'workerId' | 'cpuUnits' | 'memoryMb'>>): Map<string, Resources> {
  const usage = new Map<string, Resources>();
  for (const b of bookings) {
    const u = usage.get(b.workerId) ?? { slots: 0, cpuUnits: 0, memoryMb: 0 };
    u.slots += 1;
    u.cpuUnits += b.cpuUnits;
    u.memoryMb += b.memoryMb;
    usage.set(b.workerId, u);
  }
  return usage;
}
