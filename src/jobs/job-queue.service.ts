import { Injectable } from '@nestjs/common';
import type { WaitingReason } from './entities/job.entity.js';
import type { Job } from './entities/job.entity.js';
import { JobRepository } from './job.repository.js';
import { JobTransitionsRepository, type Placement } from './job-transitions.repository.js';

/** What the scheduler reads and books: the ready queue, the allocation ledger, placements. */
@Injectable()
export class JobQueueService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly transitions: JobTransitionsRepository,
  ) {}

  readyQueue(limit: number) {
    return this.jobs.readyQueue(limit);
  }

  allocatedJobs() {
    return this.jobs.allocatedJobs();
  }

  allocatedOn(workerIds: string[]): Promise<Job[]> {
    return this.jobs.allocatedOn(workerIds);
  }

  runningOnGoneWorkers(): Promise<Job[]> {
    return this.jobs.runningOnGoneWorkers();
  }

  place(placements: readonly Placement[]) {
    return this.transitions.place(placements);
  }

  unplace(ids: readonly string[]) {
    return this.transitions.unplace(ids);
  }

  stalePlacements(graceMs: number) {
    return this.jobs.stalePlacements(graceMs);
  }

  touchPlacements(ids: string[]) {
    return this.jobs.touchPlacements(ids);
  }

  setWaitingReasons(items: ReadonlyArray<{ id: string; reason: WaitingReason }>) {
    return this.transitions.setWaitingReasons(items);
  }

  nextRetryAt() {
    return this.transitions.nextRetryAt();
  }

  releaseStaleCancelled(graceMs: number) {
    return this.transitions.releaseStaleCancelled(graceMs);
  }
}
