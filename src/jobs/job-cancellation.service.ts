import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { retryLostRaces } from '../database/db-errors.js';
import { CANCELLED_BY_USER, SUPERSEDED_BY_SCHEDULE } from './domain/error-codes.js';
import type { Job, JobErrorInfo } from './entities/job.entity.js';
import { JobCancellationRepository } from './job-cancellation.repository.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobRepository } from './job.repository.js';
import { JobStartsRepository } from './job-starts.repository.js';
import { mergeMoved, type Moved } from './transition-sql.js';

/**
 * Cancels on request (PATCH /jobs/{id}/cancel) and by a schedule's next tick (cancel_previous), each
 * with everything downstream; and gives a cancelled job's resources back once its handler stopped.
 */
@Injectable()
export class JobCancellationService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly cancels: JobCancellationRepository,
    private readonly starts: JobStartsRepository,
    private readonly lifecycle: JobLifecycleService,
  ) {}

  /**
   * A cancelled job's handler stopped (or its worker is lost): its resources go back to its worker
   * (`holder`: the placement meant, see JobStartsRepository.releaseCancelled).
   * `skipLocked`: not while another transaction holds the job (false then; see JobStartsRepository).
   */
  async releaseCancelled(id: string, holder: { workerId: string; attempt?: number }, { skipLocked = false } = {}): Promise<boolean> {
    return (await this.starts.releaseCancelled([id], holder, { skipLocked })) > 0;
  }

  /**
   * Cancels a job through the API, and everything downstream of it. Null when it had already finished.
   * `actor` (an API key's name) is kept in the error, the log rows and the events: who cancelled it.
   */
  async cancelByUser(id: string, actor: string): Promise<Job | null> {
    const error: JobErrorInfo = { code: CANCELLED_BY_USER, message: `cancelled by ${actor} through PATCH /jobs/{id}/cancel`, actor };
    // A deadlock with a transition downstream (a completion's release, another cascade) rolled it back whole: run it again.
    const moved = await retryLostRaces(() => this.jobs.transaction((tx) => this.withDownstream(id, error, `job cancelled by ${actor}`, tx, actor)));
    this.lifecycle.publish(moved);
    return moved.jobs.find((j) => j.id === id) ?? null;
  }

  /**
   * Cancels a schedule's unfinished previous job, and everything downstream of it, because the next
   * tick supersedes it (overlap_policy cancel_previous, DESIGN §11): the same guarded cancel as
   * PATCH /jobs/{id}/cancel, with `error.code = SUPERSEDED_BY_SCHEDULE`, inside the caller's
   * transaction. Publish the result with JobLifecycleService.publish after the commit. Nothing moves for a finished job.
   */
  async supersede(id: string, schedule: { id: string; name: string }, tick: Date, tx: EntityManager): Promise<Moved> {
    const error: JobErrorInfo = {
      code: SUPERSEDED_BY_SCHEDULE,
      message: `cancelled by schedule "${schedule.name}": its tick of ${tick.toISOString()} superseded this job (overlap_policy cancel_previous)`,
      schedule_id: schedule.id,
    };
    return this.withDownstream(id, error, `job superseded by schedule ${schedule.name}`, tx);
  }

  /** The guarded cancel of one job and, when it moved, of everything downstream of it, in `tx`. */
  private async withDownstream(id: string, error: JobErrorInfo, message: string, tx: EntityManager, actor: string | null = null): Promise<Moved> {
    const cancelled = await this.cancels.cancel(id, error, message, tx, actor);
    if (cancelled.jobs.length === 0) return cancelled;
    return mergeMoved(cancelled, await this.cancels.cancelDownstream(id, 'cancelled', tx, actor));
  }
}
