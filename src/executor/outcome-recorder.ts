import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { storableText } from '../common/json-limits.js';
import { isOverTime, isTransientDbError } from '../database/db-errors.js';
import { JobEventBus } from '../events/job-event-bus.js';
import { HANDLER_ERROR, RESULT_NOT_JSON, RESULT_NOT_STORABLE, RESULT_TOO_LARGE } from '../jobs/domain/error-codes.js';
import type { JobErrorInfo } from '../jobs/entities/job.entity.js';
import { JobCancellationService } from '../jobs/job-cancellation.service.js';
import { JobFailureService } from '../jobs/job-failure.service.js';
import { JobLifecycleService, MAX_RESULT_BYTES } from '../jobs/job-lifecycle.service.js';
import type { RunnableJob } from '../jobs/job-row.js';
import { outcomeRetryDelayMs } from './domain/worker-lease.js';
import { WorkerIdentity } from './worker-identity.js';

/** A write PostgreSQL refused for good: the statement itself cannot succeed (see isTransientDbError). */
class NotStorable extends Error {
  constructor(cause: unknown) {
    super((cause as Error | undefined)?.message ?? String(cause), { cause });
  }
}

type FailOptions = { retry?: boolean; release?: boolean };

/** `error` when it serialises as JSON; else its code and a message saying why it could not be stored. */
function storableError(error: JobErrorInfo): JobErrorInfo {
  try {
    JSON.stringify(error);
    return error;
  } catch (thrown) {
    return plainError(error, `the error cannot be stored as JSON: ${thrown instanceof Error ? thrown.message : 'its toJSON threw'}`);
  }
}

/** Only the code of `error` (and whether it may be retried), with `why` as its message: text that always stores. */
function plainError(error: JobErrorInfo, why: string): JobErrorInfo {
  const code = typeof error.code === 'string' ? storableText(error.code, 200) : HANDLER_ERROR;
  return { code, message: storableText(why, 2000), ...(error.retryable === false ? { retryable: false } : {}) };
}

/**
 * Stores what an attempt came to (DESIGN §3, §5), and keeps storing it until PostgreSQL takes it: a
 * write that fails for a passing reason (a terminated connection, a restart) is sent again with a
 * backoff, never turned into a failure of the handler. Every write is guarded by the attempt
 * (`status = 'running' AND attempts = <attempt>`), so a second write of a first that was stored
 * after all, or one that arrives after the scheduler moved the job on, changes nothing. A write
 * refused for good (e.g. a result PostgreSQL cannot hold) is tried alone, out of its group commit,
 * so it fails only its own job. The execution waits for this, so it keeps its place among the
 * worker's executing jobs (its heartbeat), and nothing reaps the job as OUTCOME_LOST meanwhile.
 */
@Injectable()
export class OutcomeRecorder implements OnApplicationShutdown {
  private readonly logger = new Logger(OutcomeRecorder.name);
  private closing = false;

  constructor(
    private readonly lifecycle: JobLifecycleService,
    private readonly failures: JobFailureService,
    private readonly cancellations: JobCancellationService,
    private readonly identity: WorkerIdentity,
    private readonly bus: JobEventBus,
  ) {}

  onApplicationShutdown(): void {
    this.closing = true; // what is still unstored now is found by the leader (WORKER_LOST)
  }

  /** The handler returned `value`: running -> completed (or failed, when the result cannot be stored). */
  async complete(job: RunnableJob, attempt: number, value: unknown): Promise<void> {
    const result = value === undefined ? null : value;
    let size: number;
    try {
      size = Buffer.byteLength(JSON.stringify(result) ?? 'null');
    } catch (error) {
      return this.unstorable(job, attempt, RESULT_NOT_JSON, `the result cannot be stored as JSON: ${(error as Error).message}`);
    }
    if (size > MAX_RESULT_BYTES) {
      return this.unstorable(job, attempt, RESULT_TOO_LARGE, `the result is ${size} bytes; at most ${MAX_RESULT_BYTES} are stored`);
    }
    let completed: boolean;
    try {
      completed = await this.untilStored('completion', job, attempt, () => this.lifecycle.complete(job.id, attempt, result), () =>
        this.lifecycle.completeAlone(job.id, attempt, result),
      );
    } catch (error) {
      if (!(error instanceof NotStorable)) return this.givenUp('completion', job, attempt, error);
      return this.unstorable(job, attempt, RESULT_NOT_STORABLE, `the result cannot be stored: ${error.message}`.slice(0, 2000));
    }
    if (!completed) await this.releaseIfCancelled(job.id, attempt);
  }

  /**
   * The handler returned a result that cannot be stored: the job fails at once, attempts left or not
   * (`retryable: false`), as a NonRetryableError does. The same handler on the same input returns the
   * same kind of result, and each retry would run the whole work again (a data_fetch downloads its body
   * again) only to fail the same way.
   */
  private unstorable(job: RunnableJob, attempt: number, code: string, message: string): Promise<void> {
    return this.fail(job, attempt, 'failed', { code, message, retryable: false }, { retry: false });
  }

  /**
   * running -> failed|timeout (then pending, when the retry rules allow and `retry` is not false;
   * always, with the attempt given back, for `release`: see JobFailureService.fail). An error that
   * cannot be stored as it is (not JSON, or refused by PostgreSQL) is stored as its code and a
   * message saying so: the attempt still ends, rather than stay running until the scheduler finds it lost.
   */
  async fail(job: RunnableJob, attempt: number, outcome: 'failed' | 'timeout', error: JobErrorInfo, options: FailOptions = {}): Promise<void> {
    let stored = storableError(error);
    let failed: boolean;
    for (let plain = stored !== error; ; plain = true) {
      try {
        failed = await this.untilStored(`${outcome} outcome`, job, attempt, () => this.failures.fail(job, attempt, outcome, stored, options), () =>
          this.failures.failAlone(job, attempt, outcome, stored, options),
        );
        break;
      } catch (refused) {
        if (!(refused instanceof NotStorable) || plain) return this.givenUp(`${outcome} outcome`, job, attempt, refused);
        stored = plainError(stored, `the error cannot be stored: ${refused.message}`);
      }
    }
    // Lost to a cancel: as for a completion, the handler is over, so the resources go back now.
    if (!failed) await this.releaseIfCancelled(job.id, attempt);
  }

  /** A cancelled job's handler stopped (or its grace ended): its resources go back to its worker. */
  async releaseIfCancelled(jobId: string, attempt: number): Promise<void> {
    const holder = { workerId: this.identity.id, attempt };
    const released = await this.untilStored('release', { id: jobId }, attempt, () => this.cancellations.releaseCancelled(jobId, holder)).catch(() => false);
    if (released) await this.bus.signal({ kind: 'capacity_freed', workerId: this.identity.id }).catch(() => undefined);
  }

  /** Not stored: the leader fails the job (OUTCOME_LOST, or WORKER_LOST) once this execution has let go of it. */
  private givenUp(what: string, job: { id: string }, attempt: number, error: unknown): void {
    const reason = error instanceof NotStorable ? 'PostgreSQL refused it for good' : 'the worker is shutting down';
    this.logger.error({ err: error instanceof NotStorable ? error.cause : error, jobId: job.id, attempt }, `the ${what} of the job was not stored (${reason}); the scheduler will fail the attempt as lost`);
  }

  /** A read the handler needs before it runs, retried like the writes (a passing error must not cost an attempt). */
  read<T>(what: string, job: RunnableJob, attempt: number, isStopped: () => boolean, read: () => Promise<T>): Promise<T> {
    return this.untilStored(what, job, attempt, read, undefined, isStopped);
  }

  /**
   * Runs `write` until it resolves. A transient failure is logged (the first, then every tenth) and
   * retried after a backoff (`alone` from then on when the write ran out of time); a permanent one is
   * retried once `alone`, then thrown as NotStorable.
   * Gives up (throws) when the process is closing or `isStopped` says so.
   */
  private async untilStored<T>(
    what: string,
    job: { id: string },
    attempt: number,
    write: () => Promise<T>,
    alone?: () => Promise<T>,
    isStopped: () => boolean = () => false,
  ): Promise<T> {
    let failures = 0;
    let current = write;
    for (;;) {
      try {
        const stored = await current();
        if (failures > 0) {
          // A guarded write that found the attempt over (retried elsewhere after WORKER_LOST, cancelled) changed nothing.
          const outcome = stored === false ? ': the attempt had ended meanwhile, so it changed nothing' : '';
          this.logger.log({ jobId: job.id, attempt, failures, applied: stored !== false }, `wrote the ${what} of the job after ${failures} failed write(s)${outcome}`);
        }
        return stored;
      } catch (error) {
        failures += 1;
        if (!isTransientDbError(error)) {
          if (!alone || current === alone) throw new NotStorable(error);
          current = alone;
          continue;
        }
        if (this.closing || isStopped()) throw error;
        // A group commit given up on for its time (a batch releasing too many dependents in one statement)
        // would be gathered and time out again: this item goes in a statement of its own from now on.
        if (alone && isOverTime(error)) current = alone;
        if (failures === 1 || failures % 10 === 0) {
          this.logger.warn({ err: (error as Error).message, jobId: job.id, attempt, failures }, `could not store the ${what} of the job; writing it again until PostgreSQL takes it`);
        }
        await new Promise((resolve) => setTimeout(resolve, outcomeRetryDelayMs(failures)));
      }
    }
  }
}
