import { Injectable } from '@nestjs/common';
import type { Worker, WorkerStatus } from './entities/worker.entity.js';
import { WorkerRepository } from './worker.repository.js';

export interface WorkerCapacity {
  maxConcurrentJobs: number;
  maxCpuUnits: number;
  maxMemoryMb: number;
}

/** The worker registry (DESIGN §4): who can run jobs, with what capacity, and whether they are alive. */
@Injectable()
export class ResourcesService {
  constructor(private readonly workers: WorkerRepository) {}

  register(worker: { id: string; host: string; pid: number } & WorkerCapacity): Promise<void> {
    return this.workers.upsert(worker);
  }

  /**
   * `executingJobIds`: what the worker runs or is starting right now; `runningJobIds`: those whose
   * handler runs, of which the cancelled ones are returned (see WorkerRepository.heartbeat).
   */
  heartbeat(id: string, executingJobIds: readonly string[], runningJobIds: readonly string[], seq: number): Promise<{ alive: boolean; cancelled: string[] }> {
    return this.workers.heartbeat(id, executingJobIds, runningJobIds, seq);
  }

  /** The registry's row of a worker id, as its heartbeats leave it (see WorkerRepository.beatOf). */
  beatOf(id: string): Promise<{ status: string; host: string; pid: number; beat: string } | null> {
    return this.workers.beatOf(id);
  }

  setStatus(id: string, status: WorkerStatus): Promise<void> {
    return this.workers.setStatus(id, status);
  }

  liveWorkers(): Promise<Worker[]> {
    return this.workers.listLive();
  }

  workersIn(statuses: readonly WorkerStatus[]): Promise<Worker[]> {
    return this.workers.listByStatus(statuses);
  }

  /** Forgets workers stopped or lost more than `seconds` ago that hold no job; returns their ids. */
  forgetGoneWorkers(seconds: number): Promise<string[]> {
    return this.workers.deleteGone(seconds);
  }

  markSilentAsLost(seconds: number): Promise<string[]> {
    return this.workers.markSilentAsLost(seconds);
  }
}
