import type { Resources } from './placement.js';

export interface Booking {
  workerId: string;
  cpuUnits: number;
  memoryMb: number;
  /** The job's type and concurrency key: the queue rules count placed and running jobs by them (DESIGN §12). */
  type: string;
  concurrencyKey: string | null;
}

/**
 * The leader's copy of the allocation ledger (DESIGN §4): what each placed, unfinished job holds.
 * Rebuilt from the jobs table (at leadership, on every sweep, after anything the leader cannot
 * follow exactly, such as cancels of running jobs), and kept current in between from its own
 * placements and the completion events, so a placement pass needs no ledger query. Besides what
 * each worker holds, it counts the jobs placed or running per type and per (type, key) pair.
 */
export class AllocationLedger {
  private readonly bookings = new Map<string, Booking>();
  /** Releases seen while a rebuild was reading the table; applied to its result. */
  private releasedDuringRebuild: Set<string> | null = null;
  stale = true;

  book(jobId: string, booking: Booking): void {
    this.bookings.set(jobId, booking);
  }

  release(jobId: string): void {
    this.bookings.delete(jobId);
    this.releasedDuringRebuild?.add(jobId);
  }

  async rebuild(read: () => Promise<Array<{ id: string } & Booking>>): Promise<void> {
    this.releasedDuringRebuild = new Set();
    this.stale = false;
    try {
      const rows = await read();
      this.bookings.clear();
      for (const row of rows) {
        if (!this.releasedDuringRebuild.has(row.id)) this.bookings.set(row.id, row);
      }
    } catch (error) {
      this.stale = true;
      throw error;
    } finally {
      this.releasedDuringRebuild = null;
    }
  }

  /** Jobs placed or running per type, and per (type, concurrency key) keyed by `pairKey`. */
  runningCounts(pairKey: (type: string, key: string) => string): { byType: Map<string, number>; byKey: Map<string, number> } {
    const byType = new Map<string, number>();
    const byKey = new Map<string, number>();
    for (const b of this.bookings.values()) {
      byType.set(b.type, (byType.get(b.type) ?? 0) + 1);
      if (b.concurrencyKey !== null) {
        const k = pairKey(b.type, b.concurrencyKey);
        byKey.set(k, (byKey.get(k) ?? 0) + 1);
      }
    }
    return { byType, byKey };
  }

  /** What is booked on each worker. */
  usage(): Map<string, Resources> {
    return usageOf(this.bookings.values());
  }
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
