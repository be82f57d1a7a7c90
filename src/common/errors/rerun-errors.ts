/** The conflicts of re-runs, deletes and bulk actions (DESIGN §13): each names the state that refused it. */
import { DEPENDENCY_NOT_COMPLETED, JOB_HAS_UNFINISHED_DEPENDENTS, JOB_NOT_FINISHED, JOB_NOT_RETRYABLE, JOB_STILL_STOPPING } from '../domain/error-codes.js';
import { DomainError } from './domain-error.js';

/** POST /jobs/{id}/retry of a job that did not end failed, timeout or cancelled. */
export class JobNotRetryableError extends DomainError {
  readonly kind = 'conflict';
  readonly code = JOB_NOT_RETRYABLE;
  constructor(id: string, status: string) {
    super(`job ${id} is ${status}: only a failed, timed out or cancelled job can be retried`, { details: { status } });
  }
}

/** A retry of a job one of whose own dependencies ended without completing: that one is to be retried first. */
export class DependencyNotCompletedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = DEPENDENCY_NOT_COMPLETED;
  constructor(id: string, dependencyId: string, dependencyStatus: string) {
    super(`job ${id} depends on ${dependencyId}, which is ${dependencyStatus}: retry ${dependencyId} first`, {
      details: { dependency_id: dependencyId, dependency_status: dependencyStatus },
    });
  }
}

/** A cancelled job whose handler has not stopped yet still holds its worker's resources: it cannot run again yet. */
export class JobStillStoppingError extends DomainError {
  readonly kind = 'conflict';
  readonly code = JOB_STILL_STOPPING;
  constructor(id: string) {
    super(`job ${id} was cancelled while running and its handler has not stopped yet; retry it in a moment`, {
      details: { status: 'cancelled' },
    });
  }
}

/** DELETE /jobs/{id} of a job that has not finished. */
export class JobNotFinishedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = JOB_NOT_FINISHED;
  constructor(id: string, status: string) {
    super(`job ${id} is ${status}: only a finished job can be deleted (cancel it first)`, { details: { status } });
  }
}

/** DELETE /jobs/{id} of a finished job that a job which has not completed (unfinished, or retryable) still depends on. */
export class JobHasUnfinishedDependentsError extends DomainError {
  readonly kind = 'conflict';
  readonly code = JOB_HAS_UNFINISHED_DEPENDENTS;
  constructor(id: string, status: string, dependentId: string, dependentStatus: string) {
    const why = dependentStatus === 'failed' || dependentStatus === 'timeout' || dependentStatus === 'cancelled' ? ' and may be retried, which needs it: delete that job first' : '';
    super(`job ${id} cannot be deleted: job ${dependentId} (${dependentStatus}) depends on it${why}`, {
      details: { status, dependent_id: dependentId, dependent_status: dependentStatus },
    });
  }
}
