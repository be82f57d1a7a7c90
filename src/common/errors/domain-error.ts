/**
 * Errors that services throw. Each kind maps to one HTTP status in DomainErrorFilter (DESIGN §6);
 * services never throw HttpException.
 */
export type DomainErrorKind = 'invalid' | 'unauthorized' | 'not_found' | 'conflict' | 'unprocessable' | 'too_large';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /** Machine-readable code, stable once shipped. */
  abstract readonly code: string;
  /** Extra fields merged into the error body (e.g. the cycle of a dependency-cycle error). */
  readonly details: Record<string, unknown> = {};
  /** A list of messages, when there are several problems (validation style). */
  readonly messages?: string[];

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown>; messages?: string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.details) this.details = options.details;
    if (options?.messages) this.messages = options.messages;
  }
}

export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'INVALID_INPUT';
}

export class UnknownJobTypeError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'UNKNOWN_JOB_TYPE';
  constructor(type: string, known: readonly string[]) {
    super(`type "${type}" is not a registered job type; known types: ${known.join(', ')}`);
  }
}

export class JobNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'JOB_NOT_FOUND';
  constructor(id: string) {
    super(`job ${id} not found`);
  }
}

export class JobAlreadyFinishedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'JOB_ALREADY_FINISHED';
  constructor(id: string, status: string) {
    super(`job ${id} is already ${status} and cannot be cancelled`, { details: { status } });
  }
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'CONFLICT';
}

export class UnknownDependencyError extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'UNKNOWN_DEPENDENCY';
  constructor(ids: readonly string[]) {
    super(`depends_on names unknown job${ids.length > 1 ? 's' : ''}: ${ids.join(', ')}`, {
      details: { unknown_ids: [...ids] },
    });
  }
}

export class DependencyCycleError extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = 'DEPENDENCY_CYCLE';
  constructor(cycle: readonly string[]) {
    super(`dependency cycle: ${cycle.join(' -> ')}`, { details: { cycle: [...cycle] } });
  }
}

export class UnauthorizedError extends DomainError {
  readonly kind = 'unauthorized';
  readonly code = 'UNAUTHORIZED';
}
