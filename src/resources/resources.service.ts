import { Injectable } from '@nestjs/common';
import type { Worker, WorkerStatus } from './entities/worker.entity.js';
import type { Queryable } from '../database/sql.js';
import { WorkerRepository, type HeartbeatAnswer, type WorkerRegistration, type WorkerRowBeat } from './worker.repository.js';

/** The worker registry (DESIGN §4): who can run jobs, with what capacity, and whether they are alive. */
@Injectable()
export class ResourcesService {
  constructor(private readonly workers: WorkerRepository) {}

  /** Registers a worker process; false when another live process holds its id (see WorkerRepository.upsert). */
  register(worker: WorkerRegistration, replacing: string | null = null): Promise<boolean> {
    return this.workers.upsert(worker, replacing);
  }

  /** `executingJobIds`: what the worker runs or is starting right now; `via`: the connection (see WorkerRepository.heartbeat). */
  heartbeat(id: string, bootToken: string, executingJobIds: readonly string[], seq: number, via?: Queryable): Promise<HeartbeatAnswer> {
    return this.workers.heartbeat(id, bootToken, executingJobIds, seq, via);
  }

  /** Which of these running jobs were cancelled (see WorkerRepository.cancelledAmong). */
  cancelledAmong(jobIds: readonly string[]): Promise<string[]> {
    return this.workers.cancelledAmong(jobIds);
  }

  /** The registry's row of a worker id, as its heartbeats leave it (see WorkerRepository.beatOf). */
  beatOf(id: string): Promise<WorkerRowBeat | null> {
    return this.workers.beatOf(id);
  }

  /** Sets the status of the row while it is this process's (`bootToken`). */
  setStatus(id: string, bootToken: string, status: WorkerStatus): Promise<void> {
    return this.workers.setStatus(id, bootToken, status);
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
