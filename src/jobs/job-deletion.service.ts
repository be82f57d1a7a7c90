import { Injectable } from '@nestjs/common';
import { JobNotFoundError } from '../common/errors/domain-error.js';
import { JobHasUnfinishedDependentsError, JobNotFinishedError, JobStillStoppingError } from '../common/errors/rerun-errors.js';
import { retryLostRaces } from '../database/db-errors.js';
import { Metrics } from '../metrics/metrics.js';
import { afterStopping } from './after-stopping.js';
import { isTerminal } from './domain/job-state.js';
import { JobDeletionRepository } from './job-deletion.repository.js';
import { JobRepository } from './job.repository.js';
import { databaseTime } from '../common/database-time.js';

/** Most jobs one retention batch deletes (DESIGN §13: small batches, so pickup never waits on them). */
export const MAX_RETENTION_BATCH = 1000;

/** Deletes of finished jobs, with their logs and edges (DESIGN §13): one by id, or a batch past retention. */
@Injectable()
export class JobDeletionService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly deletions: JobDeletionRepository,
    private readonly metrics: Metrics,
  ) {}

  /** DELETE /jobs/{id}: 404 unknown, 409 while unfinished or while an unfinished job depends on it (a handler still stopping is waited out a moment: afterStopping). */
  async delete(id: string): Promise<void> {
    const outcome = await afterStopping(
      () => retryLostRaces(() => this.deleteOnce(id)).then((type) => ({ type }), (error: unknown) => ({ error })),
      (o) => 'error' in o && o.error instanceof JobStillStoppingError,
    );
    if ('error' in outcome) throw outcome.error;
    this.metrics.jobsDeleted.inc({ type: outcome.type, reason: 'api' });
  }

  /** One try of a delete; resolves to the job's type. */
  private deleteOnce(id: string): Promise<string> {
    return this.jobs.transaction(async (tx) => {
      const job = await this.deletions.lock(id, tx);
      if (!job) throw new JobNotFoundError(id);
      if (!isTerminal(job.status)) throw new JobNotFinishedError(id, job.status);
      if (job.allocated) throw new JobStillStoppingError(id);
      const dependent = await this.deletions.dependentNotCompleted(id, tx);
      if (dependent) throw new JobHasUnfinishedDependentsError(id, job.status, dependent.id, dependent.status);
      await this.deletions.deleteJobs([id], tx);
      return job.type;
    });
  }

  /**
   * Deletes one batch (at most `limit` ≤ 1,000) of finished jobs past their retention: completed ones
   * `completedSeconds` after they completed, the others `failedSeconds` after they ended; 0 = kept
   * forever. Never a job an unfinished job depends on. Returns how many went.
   */
  async deleteExpiredBatch(completedSeconds: number, failedSeconds: number, limit = MAX_RETENTION_BATCH): Promise<number> {
    if (completedSeconds <= 0 && failedSeconds <= 0) return 0;
    const now = databaseTime.now();
    const cut = (seconds: number) => (seconds > 0 ? new Date(now - seconds * 1000) : null);
    const deleted = await this.deletions.deleteExpired(cut(completedSeconds), cut(failedSeconds), Math.min(limit, MAX_RETENTION_BATCH));
    const byType = new Map<string, number>();
    for (const v of deleted) byType.set(v.type, (byType.get(v.type) ?? 0) + 1);
    for (const [type, n] of byType) this.metrics.jobsDeleted.inc({ type, reason: 'retention' }, n);
    return deleted.length;
  }
}
