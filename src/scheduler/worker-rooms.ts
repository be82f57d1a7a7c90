import { Injectable } from '@nestjs/common';
import { Metrics } from '../metrics/metrics.js';
import { AllocationLedger } from '../resources/domain/allocation-ledger.js';
import type { WorkerRoom } from '../resources/domain/placement.js';
import type { Worker } from '../resources/entities/worker.entity.js';
import { PlacementsService } from '../resources/placements.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { pairKey } from './domain/flow-control.js';
import { liveWorkerIds, roomsOf } from './domain/scheduling.js';
import { passingOver, STALE_HAND_OVERS } from './domain/stale-placements.js';

/** Owns the leader's view of the workers: the live workers and its allocation ledger (what each has booked). */
@Injectable()
export class WorkerRooms {
  readonly ledger = new AllocationLedger(pairKey);
  private workers: Worker[] = [];
  private workersStale = true;
  /** Workers placement passes over until then (ms): they did not start what they were handed. */
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
    const until = Date.now() + STALE_HAND_OVERS.passOverMs;
    for (const id of workerIds) this.passedOver.set(id, until);
    for (const [id, at] of this.passedOver) if (at <= Date.now()) this.passedOver.delete(id);
  }

  /** At leadership, and when workers were declared lost: nothing read before is trusted. */
  markAllStale(): void {
    this.workersStale = true;
    this.ledger.stale = true;
  }

  /** Workers with what they have booked, for a pass: reads what is stale. Only a pass may rebuild the ledger (passes never overlap). */
  async forPass(): Promise<WorkerRoom[]> {
    if (this.workersStale) await this.refresh();
    if (this.ledger.stale) await this.ledger.rebuild(() => this.placements.allocatedJobs());
    return this.rooms();
  }

  /** The rooms as last read, or null when the workers or the ledger are stale (only a pass reads them again). */
  current(): WorkerRoom[] | null {
    if (this.workersStale || this.ledger.stale) return null;
    return this.rooms();
  }

  async refresh(): Promise<void> {
    this.workersStale = false;
    this.workers = await this.resources.liveWorkers();
  }

  /** Workers whose placements stand (active or draining), as last read. */
  liveIds(): Set<string> {
    return liveWorkerIds(this.workers);
  }

  private rooms(): WorkerRoom[] {
    return passingOver(roomsOf(this.workers, this.ledger.usage()), this.passedOver, Date.now());
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
