/**
 * Errors that services throw. Each kind maps to one HTTP status in DomainErrorFilter (DESIGN §6);
 * services never throw HttpException.
 */
import { BODY_TOO_LARGE, CONFLICT, CROSS_SITE_REQUEST, METHOD_NOT_ALLOWED, DATABASE_UNAVAILABLE, DEPENDENCY_CYCLE, INVALID_INPUT, JOB_ALREADY_FINISHED, JOB_NOT_FOUND, OVERLOADED, QUERY_TIMEOUT, RATE_LIMITED, SHUTTING_DOWN, REDIS_UNAVAILABLE, ROLE_NOT_ALLOWED, UNAUTHORIZED, UNKNOWN_DEPENDENCY, UNKNOWN_JOB_TYPE, UNSUPPORTED_CONTENT_ENCODING, VALIDATION_FAILED } from '../domain/error-codes.js';
import { suggestField } from '../field-suggestion.js';

export type DomainErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'unprocessable'
  | 'too_large'
  | 'unsupported_media'
  | 'too_many_requests'
  | 'overloaded'
  | 'unavailable';

/** One problem with one field of a request, `field` being its path (`jobs[2].payload.url`). */
export interface FieldProblem {
  field: string;
  message: string;
  /** A code more specific than VALIDATION_FAILED (a constraint's `context.code`): used when every problem has it. */
  code?: string;
}

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
  readonly code = INVALID_INPUT;
}

/**
 * A request that failed validation: every problem with the field it concerns. `message` lists the
 * messages (DESIGN §6); `details` carries `{field, message}` pairs for clients that show them per field.
 */
/** Most problems a validation error lists; the rest are counted in one more message. */
const MAX_REPORTED_PROBLEMS = 100;
/** Longest field path or message a validation error repeats: a 500 KB unknown key is named, not echoed whole. */
const MAX_PROBLEM_TEXT = 300;

const clip = (text: string): string => (text.length <= MAX_PROBLEM_TEXT ? text : `${text.slice(0, MAX_PROBLEM_TEXT)}… (${text.length} characters)`);

export class ValidationFailedError extends DomainError {
  readonly kind = 'invalid';
  readonly code: string;
  constructor(all: readonly FieldProblem[], code = VALIDATION_FAILED) {
    // An answer stays about as small as the request's problems are few: 50,000 unknown keys are not 50,000 messages.
    const problems = all.slice(0, MAX_REPORTED_PROBLEMS).map((p) => ({ ...p, field: clip(p.field), message: clip(p.message) }));
    const messages = problems.map((p) => p.message);
    if (all.length > problems.length) messages.push(`and ${all.length - problems.length} more problems of the same request, not listed`);
    // One problem reads as one message; several as the list (DESIGN §6 allows both).
    super(messages.join('; '), {
      messages: messages.length > 1 ? messages : undefined,
      details: { details: problems.map((p) => ({ field: p.field, message: p.message })) },
    });
    this.code = code;
  }
}

/** A request body that is not a JSON value the service reads (empty, malformed, a forbidden key). */
export class MalformedBodyError extends DomainError {
  readonly kind = 'invalid';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** 415: a body sent with a Content-Encoding the service does not decode. */
export class UnsupportedContentEncodingError extends DomainError {
  readonly kind = 'unsupported_media';
  readonly code = UNSUPPORTED_CONTENT_ENCODING;
}

/** 405: a path the service serves, asked with a method it does not take there (the `Allow` header lists those it does). */
export class MethodNotAllowedError extends DomainError {
  readonly kind = 'method_not_allowed';
  readonly code = METHOD_NOT_ALLOWED;
}

/** 413: a body larger than MAX_BODY_BYTES once decoded. */
export class BodyTooLargeError extends DomainError {
  readonly kind = 'too_large';
  readonly code = BODY_TOO_LARGE;
}

export class UnknownJobTypeError extends DomainError {
  readonly kind = 'invalid';
  readonly code = UNKNOWN_JOB_TYPE;
  /** `at` prefixes the message (`jobs[3]: `). */
  constructor(type: string, known: readonly string[], at = '') {
    const hint = suggestField(type, known);
    const message = `${at}type "${type}" is not a registered job type; ${hint ? `did you mean "${hint}"? ` : ''}known types: ${known.join(', ')}`;
    const owner = at.replace(/:\s*$/, '');
    super(message, { details: { details: [{ field: owner ? `${owner}.type` : 'type', message }] } });
  }
}

export class JobNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = JOB_NOT_FOUND;
  constructor(id: string) {
    super(`job ${id} not found`);
  }
}

export class JobAlreadyFinishedError extends DomainError {
  readonly kind = 'conflict';
  readonly code = JOB_ALREADY_FINISHED;
  constructor(id: string, status: string) {
    super(`job ${id} is already ${status} and cannot be cancelled`, { details: { status } });
  }
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  readonly code = CONFLICT;
}

export class UnknownDependencyError extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = UNKNOWN_DEPENDENCY;
  constructor(ids: readonly string[], message = `depends_on names unknown job${ids.length > 1 ? 's' : ''}: ${ids.join(', ')}`) {
    super(message, {
      details: { unknown_ids: [...ids] },
    });
  }
}

export class DependencyCycleError extends DomainError {
  readonly kind = 'unprocessable';
  readonly code = DEPENDENCY_CYCLE;
  constructor(cycle: readonly string[]) {
    super(`dependency cycle: ${cycle.join(' -> ')}`, { details: { cycle: [...cycle] } });
  }
}

export class UnauthorizedError extends DomainError {
  readonly kind = 'unauthorized';
  readonly code = UNAUTHORIZED;
}

/** A valid key whose role may not do what was asked. */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
  readonly code = ROLE_NOT_ALLOWED;
  constructor(message: string, details: { role: string; required_role: string }) {
    super(message, { details });
  }
}

/** A browser page of another origin asked for a change (DESIGN §6's 403, with its own code). */
export class CrossSiteRequestError extends DomainError {
  readonly kind = 'forbidden';
  readonly code = CROSS_SITE_REQUEST;
  constructor(origin: string) {
    super(
      `a page at ${JSON.stringify(origin)} may not change anything here: requests other than GET and HEAD from a browser are taken from the service's own origin or one CORS_ORIGINS names`,
      { details: { origin } },
    );
  }
}

/** Too many requests for one key (or address) in the rate-limit window; `retryAfterSeconds` goes to Retry-After. */
export class RateLimitedError extends DomainError {
  readonly kind = 'too_many_requests';
  readonly code = RATE_LIMITED;
  constructor(readonly retryAfterSeconds: number, limit: number, windowMs: number) {
    super(`too many requests: at most ${limit} per ${windowMs} ms for this key (or address); retry in ${retryAfterSeconds} s`, {
      details: { retry_after_seconds: retryAfterSeconds },
    });
  }
}

/** The service sheds load at once rather than queue more work behind a slow dependency. */
export class OverloadedError extends DomainError {
  readonly kind = 'overloaded';
  readonly code = OVERLOADED;
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message, { details: { retry_after_seconds: retryAfterSeconds } });
  }
}

/** A request that reached an instance after its shutdown began (503, Retry-After, the connection closed). */
export class ShuttingDownError extends DomainError {
  readonly kind = 'overloaded';
  readonly code = SHUTTING_DOWN;
  readonly retryAfterSeconds = 1;
  constructor() {
    super('this instance is shutting down and takes no new request: send it again (to another instance, or to this one once restarted)');
  }
}

/**
 * PostgreSQL gave up a statement of the request for its time (statement_timeout, DB_QUERY_TIMEOUT_MS) or
 * had it cancelled: the database answers, so this is not DATABASE_UNAVAILABLE, and the same request may
 * take as long again. 503 with a longer Retry-After.
 */
export class QueryTimeoutError extends DomainError {
  readonly kind = 'unavailable';
  readonly code = QUERY_TIMEOUT;
  readonly retryAfterSeconds = 5;
  constructor(reason: string | undefined) {
    super(
      `PostgreSQL gave up a statement of this request${reason ? ` (${reason})` : ''}: the request was not carried out. A read this slow ` +
        'is one the table has grown too big for (narrow it: a status, a type, created_before) or a database overloaded now; retry in 5 s',
      { details: { retry_after_seconds: 5 } },
    );
  }
}

/** What a request needs that does not answer: PostgreSQL (`database`) or Redis (`redis`). */
export type Dependency = 'database' | 'redis';

export const UNAVAILABLE_CODES: Record<Dependency, string> = {
  database: DATABASE_UNAVAILABLE,
  redis: REDIS_UNAVAILABLE,
};

/**
 * PostgreSQL or Redis does not answer: the request was not carried out (or, if it had been written
 * before the dependency went, is found again by its idempotency key). 503 with Retry-After.
 */
export class DependencyUnavailableError extends DomainError {
  readonly kind = 'unavailable';
  readonly code: string;
  /**
   * `inFlight`: the dependency went while the request was being carried out, so its change may have
   * been stored: the message says so, rather than that nothing was done.
   */
  constructor(readonly dependency: Dependency, readonly retryAfterSeconds = 1, reason?: string, inFlight = false) {
    const name = dependency === 'database' ? 'PostgreSQL' : 'Redis';
    const outcome = inFlight
      ? 'the request was under way and may have taken effect: look before sending it again (an idempotency_key makes a resent submit safe)'
      : 'the request was not carried out';
    // pg-pool says the same when the server does not answer and when every pooled connection stays busy.
    const busy = dependency === 'database' && reason?.includes('timeout exceeded when trying to connect') ? ', or all DB_POOL_SIZE connections stayed busy' : '';
    super(`${name} is unavailable${reason ? ` (${reason})` : ''}${busy}: ${outcome}; retry in ${retryAfterSeconds} s`, {
      details: { retry_after_seconds: retryAfterSeconds },
    });
    this.code = UNAVAILABLE_CODES[dependency];
  }
}
