import { Injectable } from '@nestjs/common';
import { Metrics } from '../metrics/metrics.js';
import { AllocationLedger } from '../resources/domain/allocation-ledger.js';
import type { WorkerRoom } from '../resources/domain/placement.js';
import type { Worker } from '../resources/entities/worker.entity.js';
import { PlacementsService } from '../resources/placements.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { pairKey } from './domain/flow-control.js';
import { neverFitReason, sizeBound } from './domain/never-fits.js';
import { liveWorkerIds, roomsOf } from './domain/scheduling.js';
import { passingOver, STALE_HAND_OVERS } from './domain/stale-placements.js';

/** Owns the leader's view of the workers: the live workers and its allocation ledger (what each has booked). */
@Injectable()
export class WorkerRooms {
  readonly ledger = new AllocationLedger(pairKey);
  private workers: Worker[] = [];
  private workersStale = true;
  /** The workers' read under way, if any: passes wait for it, and reads land in the order asked. */
  private reading?: Promise<void>;
  /** Workers placement passes over until then (performance.now() ms): they did not start what they were handed. */
  private readonly passedOver = new Map<string, number>();

  constructor(
    private readonly resources: ResourcesService,
    private readonly placements: PlacementsService,
    private readonly metrics: Metrics,
  ) {}

  /** A worker came, went or changed: read them again at the next pass. */
  markWorkersStale(): void {
    this.workersStale = true;
  }

  /** These workers did not start what they were handed: no new job goes to them for a while. */
  passOver(workerIds: readonly string[]): void {
    const until = performance.now() + STALE_HAND_OVERS.passOverMs;
    for (const id of workerIds) this.passedOver.set(id, until);
    for (const [id, at] of this.passedOver) if (at <= performance.now()) this.passedOver.delete(id);
  }

  /** At leadership, and when workers were declared lost: nothing read before is trusted. */
  markAllStale(): void {
    this.workersStale = true;
    this.ledger.stale = true;
  }

  /** Workers with what they have booked, for a pass: reads what is stale. Only a pass may rebuild the ledger (passes never overlap). */
  async forPass(): Promise<WorkerRoom[]> {
    while (this.workersStale || this.reading) await (this.reading ?? this.refresh());
    if (this.ledger.stale) await this.ledger.rebuild(() => this.placements.allocatedJobs());
    return this.rooms();
  }

  /** The rooms as last read, or null when the workers or the ledger are stale (only a pass reads them again). */
  current(): WorkerRoom[] | null {
    if (this.workersStale || this.reading || this.ledger.stale) return null;
    return this.rooms();
  }

  /**
   * Reads the workers now. A read already under way may have been sent before what the caller knows
   * (a worker it just declared lost), so this one follows it rather than sharing it; a pass waits for
   * whichever is under way (forPass) instead of planning with the list from before.
   */
  async refresh(): Promise<void> {
    const before = this.reading;
    const read = (async () => {
      await before?.catch(() => undefined);
      this.workersStale = false; // a markWorkersStale() during the read asks for another one
      try {
        this.workers = await this.resources.liveWorkers();
      } catch (error) {
        this.workersStale = true;
        throw error;
      }
    })();
    this.reading = read;
    try {
      await read;
    } finally {
      if (this.reading === read) this.reading = undefined;
    }
  }

  /** Workers whose placements stand (active or draining), as last read. */
  liveIds(): Set<string> {
    return liveWorkerIds(this.workers);
  }

  /** The largest an accepting worker is, as last read, when below what a job may ask for (`limits`; never-fits.ts); else null. */
  sizeBound(limits: { cpuUnits: number; memoryMb: number }): { cpuUnits: number; memoryMb: number } | null {
    return sizeBound(roomsOf(this.workers, new Map()), limits);
  }

  /** The reason of the ready jobs of `size`, beyond what any worker has (never-fits.ts). */
  neverFitReason(size: { cpuUnits: number; memoryMb: number }) {
    return neverFitReason(size, roomsOf(this.workers, new Map()));
  }

  private rooms(): WorkerRoom[] {
    return passingOver(roomsOf(this.workers, this.ledger.usage()), this.passedOver, performance.now());
  }

  /** Publishes each worker's capacity and bookings as metrics. */
  observe(): void {
    const rooms = roomsOf(this.workers, this.ledger.usage());
    this.metrics.workerCapacity.reset();
    this.metrics.workerAllocated.reset();
    for (const room of rooms) {
      for (const [resource, key] of [['slots', 'slots'], ['cpu_units', 'cpuUnits'], ['memory_mb', 'memoryMb']] as const) {
        this.metrics.workerCapacity.set({ worker_id: room.id, resource }, room.capacity[key]);
        this.metrics.workerAllocated.set({ worker_id: room.id, resource }, room.allocated[key]);
      }
    }
  }
}
