import { Injectable } from '@nestjs/common';
import type { Job, WaitingReason } from './entities/job.entity.js';
import type { HeldBack } from '../database/job-order.js';
import { ReadyCandidatesRepository } from './ready-candidates.repository.js';
import { JobTransitionsRepository } from './job-transitions.repository.js';
import { StuckJobsRepository, type WorkerGone } from './stuck-jobs.repository.js';

export type { WorkerGone };

/**
 * What the scheduler reads of the jobs: the fair ready queue and the queue rules' held reasons and
 * recent starts, stuck work, the next due retry. Where jobs are placed is resources/' PlacementsService.
 */
@Injectable()
export class JobQueueService {
  constructor(
    private readonly transitions: JobTransitionsRepository,
    private readonly stuck: StuckJobsRepository,
    private readonly candidates: ReadyCandidatesRepository,
  ) {}

  /** The ready queue with fair turns between concurrency keys, without what the queue rules hold back (DESIGN §12). */
  fairReadyQueue(limit: number, held: HeldBack, bound: { cpuUnits: number; memoryMb: number } | null = null) {
    return this.candidates.fairReadyQueue(limit, held, bound);
  }

  anyKeyedReady() {
    return this.candidates.anyKeyedReady();
  }

  setHeldReasons(items: ReadonlyArray<{ type: string; key: string | null; reason: WaitingReason }>, onlyIds?: readonly string[]) {
    return this.candidates.setHeldReasons(items, onlyIds);
  }

  clearHeldReasons(items: ReadonlyArray<{ type: string; key: string | null }>) {
    return this.candidates.clearHeldReasons(items);
  }

  clearHeldReasonsExcept(keep: ReadonlyArray<{ type: string; key: string | null }>) {
    return this.candidates.clearHeldReasonsExcept(keep);
  }

  /** Jobs running on the given workers (just declared lost), whole: failing them follows their retry rules. */
  runningOn(workerIds: string[]): Promise<Job[]> {
    return this.stuck.runningOn(workerIds);
  }

  runningOnGoneWorkers(): Promise<Array<{ job: Job; gone: WorkerGone }>> {
    return this.stuck.runningOnGoneWorkers();
  }

  runningNotExecuting(): Promise<Job[]> {
    return this.stuck.runningNotExecuting();
  }

  nextRetryAt() {
    return this.transitions.nextRetryAt();
  }
}
