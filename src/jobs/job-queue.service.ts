import { Injectable } from '@nestjs/common';
import type { Job, WaitingReason } from './entities/job.entity.js';
import { JobPlacementsRepository, type Placement } from './job-placements.repository.js';
import { JobRepository } from './job.repository.js';
import { ReadyCandidatesRepository, type HeldBack } from './ready-candidates.repository.js';
import { JobTransitionsRepository } from './job-transitions.repository.js';
import { StuckJobsRepository } from './stuck-jobs.repository.js';

/** A fenced placement found that another process leads now: the caller must step down. */
export class LeadershipLostError extends Error {
  constructor(readonly epoch: number | null) {
    super(`leadership epoch ${epoch} is no longer current: another scheduler leads`);
    this.name = 'LeadershipLostError';
  }
}

/** What the scheduler reads and books: the ready queue, the allocation ledger, placements, stuck work. */
@Injectable()
export class JobQueueService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly transitions: JobTransitionsRepository,
    private readonly placements: JobPlacementsRepository,
    private readonly stuck: StuckJobsRepository,
    private readonly candidates: ReadyCandidatesRepository,
  ) {}

  readyQueue(limit: number) {
    return this.jobs.readyQueue(limit);
  }

  /** The ready queue with fair turns between concurrency keys, without what the queue rules hold back (DESIGN §12). */
  fairReadyQueue(limit: number, held: HeldBack) {
    return this.candidates.fairReadyQueue(limit, held);
  }

  anyKeyedReady() {
    return this.candidates.anyKeyedReady();
  }

  setHeldReasons(items: ReadonlyArray<{ type: string; key: string | null; reason: WaitingReason }>) {
    return this.candidates.setHeldReasons(items);
  }

  clearHeldReasons(items: ReadonlyArray<{ type: string; key: string | null }>) {
    return this.candidates.clearHeldReasons(items);
  }

  recentStarts(types: string[], windowMs: number) {
    return this.candidates.recentStarts(types, windowMs);
  }

  allocatedJobs() {
    return this.jobs.allocatedJobs();
  }

  allocatedOn(workerIds: string[]): Promise<Job[]> {
    return this.jobs.allocatedOn(workerIds);
  }

  runningOnGoneWorkers(): Promise<Job[]> {
    return this.stuck.runningOnGoneWorkers();
  }

  runningNotExecuting(): Promise<Job[]> {
    return this.stuck.runningNotExecuting();
  }

  /** Books placements under leadership `epoch` (null: unfenced). Throws LeadershipLostError when it is not current. */
  async place(placements: readonly Placement[], epoch: number | null) {
    const { leading, placed } = await this.placements.place(placements, epoch);
    if (!leading) throw new LeadershipLostError(epoch);
    return placed;
  }

  /** Takes placements back, under leadership `epoch` when the scheduler does it (null: the worker itself). */
  async unplace(ids: readonly string[], epoch: number | null): Promise<string[]> {
    const { leading, taken } = await this.placements.unplace(ids, epoch);
    if (!leading) throw new LeadershipLostError(epoch);
    return taken;
  }

  isCurrentEpoch(epoch: number): Promise<boolean> {
    return this.placements.isCurrentEpoch(epoch);
  }

  stalePlacements(graceMs: number) {
    return this.jobs.stalePlacements(graceMs);
  }

  touchPlacements(ids: string[]) {
    return this.jobs.touchPlacements(ids);
  }

  setWaitingReasons(items: ReadonlyArray<{ id: string; reason: WaitingReason }>) {
    return this.placements.setWaitingReasons(items);
  }

  nextRetryAt() {
    return this.transitions.nextRetryAt();
  }

  releaseStaleCancelled(graceMs: number) {
    return this.placements.releaseStaleCancelled(graceMs);
  }
}
