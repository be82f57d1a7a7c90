import { DiscoveryService } from '@nestjs/core';
import type { PayloadProblem } from '../jobs/job-type-catalog.js';

export interface JobLogger {
  debug(message: string, data?: Record<string, unknown>): Promise<void>;
  info(message: string, data?: Record<string, unknown>): Promise<void>;
  warn(message: string, data?: Record<string, unknown>): Promise<void>;
  error(message: string, data?: Record<string, unknown>): Promise<void>;
}

/** A dependency's outcome as a handler sees it. */
export interface DependencyResult {
  id: string;
  ref: string | null;
  type: string;
  result: unknown;
}

/**
 * What a handler gets besides its job. Delivery is at least once: an attempt whose worker froze, lost
 * its connection or crashed is run again, possibly while the first copy's effects are still on their
 * way, and a handler whose outcome could not be stored may have done its work already. So a handler
 * must honour `signal` (stop promptly when it aborts) and make its effects idempotent: pass
 * `idempotencyKey` to the outside world (an `Idempotency-Key` header, a message id, a unique key in a
 * database) so that a repeat is recognised there.
 */
export interface JobContext {
  /**
   * Aborts on timeout, cancel, and when the worker loses its lease (the job then runs elsewhere).
   * Made on first read, so a handler that never waits need not read it.
   */
  signal: AbortSignal;
  /** This run's number, 1 for the first (the same as `job.attempt`). */
  attempt: number;
  /** Stable across every attempt of the job (its id): the token to give the outside world for deduplication. */
  idempotencyKey: string;
  /** Writes job_logs rows. */
  log: JobLogger;
  /** Publishes job_progress (percent 0..100). */
  progress(percent: number, data?: Record<string, unknown>): Promise<void>;
  /** Results of the job's direct dependencies, by id and (for batch-submitted jobs) by ref. */
  dependencyResults: ReadonlyMap<string, DependencyResult>;
}

export interface RunningJob<P extends object = object> {
  id: string;
  type: string;
  attempt: number;
  payload: P;
}

export interface JobHandlerContract<P extends object = object> {
  /** class-validator class for the payload, checked at submit. */
  readonly payloadType?: new () => P;
  /**
   * Checks at submit what decorators cannot (e.g. against the configuration); each problem's field is
   * relative to the payload (`url`). Runs even when the class found problems, so it must not trust
   * the payload's types. A problem found here is a 400, not a failed run.
   */
  checkPayload?(payload: P): PayloadProblem[];
  handle(job: RunningJob<P>, ctx: JobContext): Promise<unknown>;
}

/** Marks a singleton provider as the only handler of one job type: `@JobHandler('send_email')`. */
export const JobHandler = DiscoveryService.createDecorator<string>();

export { isNonRetryable, NonRetryableError } from './non-retryable-error.js';
