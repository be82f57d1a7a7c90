import { Injectable, Logger } from '@nestjs/common';
import { Coalescer } from '../common/coalescer.js';
import { isLockNotAvailable, isLostRace, isPermanentDbError } from '../database/db-errors.js';
import { nextRunAt } from './domain/retry-policy.js';
import type { Job, JobErrorInfo } from './entities/job.entity.js';
import type { RunnableJob } from './job-row.js';
import { JobCancellationRepository } from './job-cancellation.repository.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobRepository } from './job.repository.js';
import { JobTransitionsRepository, type FailItem } from './job-transitions.repository.js';
import { mergeMoved, type Moved } from './transition-sql.js';
import { databaseTime } from '../common/database-time.js';

export interface FailOptions {
  /** False: the attempt's error says another cannot help, attempts left or not. */
  retry?: boolean;
  /** The worker let go of the job unfinished: back to pending at once, the attempt given back (see fail). */
  release?: boolean;
}

/**
 * Longest a sweep's failure waits on a job downstream of a final failure (failMany): a transition
 * holds its rows for milliseconds, so this only gives up on a holder that is stuck.
 */
const FAIL_LOCK_WAIT_MS = 200;

/**
 * How a run ends badly, for the executor and the leader's sweeps: running -> failed|timeout, or back
 * to pending when the retry rules give it another attempt, and a final failure's downstream jobs
 * cancelled in the same transaction. Group-committed when many end at once; published through
 * JobLifecycleService, like every other move after a submit.
 */
@Injectable()
export class JobFailureService {
  private readonly logger = new Logger(JobFailureService.name);
  /** A batch the database refuses for its data is recorded again one job at a time (Coalescer), so only the bad one fails. */
  private readonly failures = new Coalescer<FailItem, boolean>((items) => this.flushFailures(items), 500, isPermanentDbError);

  constructor(
    private readonly jobs: JobRepository,
    private readonly transitions: JobTransitionsRepository,
    private readonly cancels: JobCancellationRepository,
    private readonly lifecycle: JobLifecycleService,
  ) {}

  /**
   * running -> failed|timeout, and -> pending when attempts remain (unless `retry` is false: the
   * handler said another attempt cannot help). `release`: the worker let go of the job unfinished (its
   * drain, DESIGN §5): it goes back to pending at once, attempts left or not, and the attempt is given
   * back (`attempt_base` + 1), so that a stopped worker costs no job a run of its budget. False when
   * the job had already left running.
   */
  fail(job: RunnableJob, attempt: number, outcome: 'failed' | 'timeout', error: JobErrorInfo, options: FailOptions = {}): Promise<boolean> {
    return this.failures.push(this.failItem(job, attempt, outcome, error, options));
  }

  /** `fail` in a statement of its own, without group commit: when a batch cannot be stored, tells which of its jobs is the cause. */
  async failAlone(job: RunnableJob, attempt: number, outcome: 'failed' | 'timeout', error: JobErrorInfo, options: FailOptions = {}): Promise<boolean> {
    return (await this.flushFailures([this.failItem(job, attempt, outcome, error, options)]))[0]!;
  }

  /**
   * Fails many running jobs at once (a lost worker's), following the retry rules, for the leader's
   * sweeps; returns how many of them moved. It never waits on a job another transaction holds: a held
   * row means someone writes that job right now (its worker's outcome, a cancel, or a frozen process's
   * open transaction), and a sweep waiting on it would hold a pooled connection for as long, and one
   * more every sweep. Those jobs are skipped (FOR UPDATE SKIP LOCKED, so the others still move, which a
   * lock_timeout on the batch would not let them) and stay `running` on their gone worker, where
   * the next sweep's reapOrphans finds them again. The downstream cancel of a final failure cannot
   * skip a job (left `blocked` behind a failed dependency, it would never run): its waits are cut
   * short by FAIL_LOCK_WAIT_MS instead, and the whole failure is left to the next sweep.
   */
  async failMany(jobs: Job[], error: JobErrorInfo): Promise<number> {
    const ids = new Set(jobs.map((j) => j.id));
    try {
      const moved = await this.applyFailures(jobs.map((job) => this.failItem(job, job.attempts, 'failed', error)), { skipLocked: true });
      return moved.jobs.filter((j) => ids.has(j.id)).length;
    } catch (thrown) {
      if (!isLockNotAvailable(thrown) && !isLostRace(thrown)) throw thrown;
      this.logger.warn({ jobs: [...ids], err: thrown }, 'failing these jobs met a job downstream that another transaction holds, or lost a deadlock: nothing was changed, the next sweep tries again');
      return 0;
    }
  }

  // ---------------------------------------------------------------------------------------------

  private failItem(job: RunnableJob, attempt: number, outcome: 'failed' | 'timeout', error: JobErrorInfo, { retry = true, release = false }: FailOptions = {}): FailItem {
    const now = databaseTime.date();
    if (release) return { id: job.id, attempt, outcome, error, retryAt: now, givenBack: true };
    // The run budget counts from the last manual retry (DESIGN §13); `attempts` counts every run.
    return { id: job.id, attempt, outcome, error, retryAt: retry ? nextRunAt(attempt - job.attemptBase, job, now) : null };
  }

  private async flushFailures(items: FailItem[]): Promise<boolean[]> {
    const moved = await this.applyFailures(items);
    const done = new Set(moved.jobs.map((j) => j.id));
    return items.map((i) => done.has(i.id));
  }

  /**
   * Applies failures; final ones cancel their downstream jobs in the same transaction. `skipLocked`:
   * failMany's, never waiting on a job another transaction holds.
   */
  private async applyFailures(items: FailItem[], { skipLocked = false } = {}): Promise<Moved> {
    if (items.length === 0) return { jobs: [], events: [] };
    const hasFinal = items.some((i) => i.retryAt === null);
    const moved = hasFinal
      ? await this.jobs.transaction(async (tx) => {
          if (skipLocked) await this.transitions.limitLockWaits(FAIL_LOCK_WAIT_MS, tx);
          const failed = await this.transitions.fail(items, tx, { skipLocked });
          const cascades: Moved[] = [];
          for (const job of failed.jobs) {
            if (job.status === 'failed' || job.status === 'timeout') {
              cascades.push(await this.cancels.cancelDownstream(job.id, job.status, tx));
            }
          }
          return mergeMoved(failed, ...cascades);
        })
      : await this.transitions.fail(items, undefined, { skipLocked });
    this.lifecycle.publish(moved);
    const outcomes = new Map(items.map((i) => [i.id, i.outcome]));
    this.lifecycle.observeRuns(moved, (id) => outcomes.get(id) ?? 'failed');
    return moved;
  }
}
