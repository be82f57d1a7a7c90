/**
 * The `code` of every error body the API answers (DESIGN §6), each declared once with what it means.
 * Stable once shipped: clients branch on them. Pure constants, importable from every folder, `domain/`
 * ones included. The codes stored in a job's `error.code` are jobs/domain/error-codes.ts's.
 */

// ---- Any request: the codes of an HTTP status whose error carries none of its own ----
/** 400: a bad request of no more specific kind. */
export const BAD_REQUEST = 'BAD_REQUEST';
/** 401: no API key, or one the service does not know. */
export const UNAUTHORIZED = 'UNAUTHORIZED';
/** 403: refused, of no more specific kind. */
export const FORBIDDEN = 'FORBIDDEN';
/** 404: no such route. */
export const NOT_FOUND = 'NOT_FOUND';
/** 405: the route exists, not with this method. */
export const METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED';
/** 408: the request did not arrive whole in time. */
export const REQUEST_TIMEOUT = 'REQUEST_TIMEOUT';
/** The client closed its connection before its request body arrived (the answer reaches nobody). */
export const REQUEST_ABORTED = 'REQUEST_ABORTED';
/** 409: a conflict of no more specific kind. */
export const CONFLICT = 'CONFLICT';
/** 422: well-formed, but not processable, of no more specific kind. */
export const UNPROCESSABLE = 'UNPROCESSABLE';
/** 429: too many requests for this key (or address) in the rate-limit window. */
export const RATE_LIMITED = 'RATE_LIMITED';
/** 503: the service cannot answer now, of no more specific kind. */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';
/** 500: a fault of the service; the body says no more. */
export const INTERNAL_ERROR = 'INTERNAL_ERROR';

// ---- The request as bytes ----
/** 400: not HTTP the server can parse. */
export const BAD_HTTP_REQUEST = 'BAD_HTTP_REQUEST';
/** 431: the request line and headers are too large. */
export const HEADERS_TOO_LARGE = 'HEADERS_TOO_LARGE';
/** 400: a Content-Length that does not match the body. */
export const INVALID_CONTENT_LENGTH = 'INVALID_CONTENT_LENGTH';
/** 413: the body is larger than MAX_BODY_BYTES. */
export const BODY_TOO_LARGE = 'BODY_TOO_LARGE';
/** 415: a body that is not sent as application/json. */
export const UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE';
/** 412: a static file's `If-Match` / `If-Unmodified-Since` does not hold. */
export const PRECONDITION_FAILED = 'PRECONDITION_FAILED';
/** 416: a static file's `Range` lies outside the file. */
export const RANGE_NOT_SATISFIABLE = 'RANGE_NOT_SATISFIABLE';
/** 415: a body sent with a Content-Encoding other than gzip, deflate, br or identity. */
export const UNSUPPORTED_CONTENT_ENCODING = 'UNSUPPORTED_CONTENT_ENCODING';
/** 400: a body that does not decode as its Content-Encoding says (e.g. not gzip data under "gzip"). */
export const INVALID_CONTENT_ENCODING = 'INVALID_CONTENT_ENCODING';
/** 400: a JSON request with an empty body. */
export const EMPTY_BODY = 'EMPTY_BODY';
/** 400: a body that is not valid JSON. */
export const INVALID_JSON = 'INVALID_JSON';
/** 400: a body with a `__proto__` or `constructor.prototype` key. */
export const FORBIDDEN_JSON_KEY = 'FORBIDDEN_JSON_KEY';
/** 400: objects and arrays nested deeper than the service reads. */
export const NESTING_TOO_DEEP = 'NESTING_TOO_DEEP';
/** 400: text PostgreSQL cannot store (a NUL character, a lone surrogate). */
export const INVALID_TEXT = 'INVALID_TEXT';
/** 400: a number too large for JSON's doubles (e.g. 1e400), which would be read as infinity and stored as null. */
export const NUMBER_OUT_OF_RANGE = 'NUMBER_OUT_OF_RANGE';

// ---- Validation (400) ----
/** Fields that fail validation; `details` lists each with its message. */
export const VALIDATION_FAILED = 'VALIDATION_FAILED';
/** Input the service refuses, of no more specific kind. */
export const INVALID_INPUT = 'INVALID_INPUT';
/** A path id that is not a UUID. */
export const INVALID_ID = 'INVALID_ID';
/** A `cursor` that this API did not hand out. */
export const INVALID_CURSOR = 'INVALID_CURSOR';
/** A schedule's cron expression that does not parse. */
export const INVALID_CRON = 'INVALID_CRON';
/** A bulk action with both or neither of `ids` and `filter`, or a filter with no criterion. */
export const INVALID_BULK_REQUEST = 'INVALID_BULK_REQUEST';
/** A batch submit with more jobs than MAX_BATCH_JOBS. */
export const BATCH_TOO_LARGE = 'BATCH_TOO_LARGE';
/** Resource requirements that no worker can ever meet (MAX_CPU_UNITS, MAX_MEMORY_MB). */
export const EXCEEDS_WORKER_LIMITS = 'EXCEEDS_WORKER_LIMITS';
/** More dependencies than MAX_DEPENDENCIES_PER_JOB. */
export const TOO_MANY_DEPENDENCIES = 'TOO_MANY_DEPENDENCIES';
/** A job type no handler is registered for. */
export const UNKNOWN_JOB_TYPE = 'UNKNOWN_JOB_TYPE';
/** A data_fetch URL to a private, loopback or link-local address (also a handler error's `cause_code` at run time). */
export const ADDRESS_NOT_ALLOWED = 'ADDRESS_NOT_ALLOWED';

// ---- Who asks (401, 403) ----
/** 403: a request that changes something, sent by a browser page of an origin other than the service's and not in CORS_ORIGINS. */
export const CROSS_SITE_REQUEST = 'CROSS_SITE_REQUEST';
/** 403: a valid key whose role may not do what was asked. */
export const ROLE_NOT_ALLOWED = 'ROLE_NOT_ALLOWED';

// ---- Jobs (404, 409, 422) ----
/** 404: no job with that id. */
export const JOB_NOT_FOUND = 'JOB_NOT_FOUND';
/** 409: a cancel of a job that has already finished. */
export const JOB_ALREADY_FINISHED = 'JOB_ALREADY_FINISHED';
/** 409: a retry of a job that did not end failed, timeout or cancelled. */
export const JOB_NOT_RETRYABLE = 'JOB_NOT_RETRYABLE';
/** 409: a retry of a job one of whose own dependencies ended without completing (retry that one first). */
export const DEPENDENCY_NOT_COMPLETED = 'DEPENDENCY_NOT_COMPLETED';
/** 409: a retry of a cancelled job whose handler has not stopped yet. */
export const JOB_STILL_STOPPING = 'JOB_STILL_STOPPING';
/** 409: a delete of a job that has not finished. */
export const JOB_NOT_FINISHED = 'JOB_NOT_FINISHED';
/** 409: a delete of a finished job that an unfinished job still depends on. */
export const JOB_HAS_UNFINISHED_DEPENDENTS = 'JOB_HAS_UNFINISHED_DEPENDENTS';
/** 422: depends_on names jobs that do not exist. */
export const UNKNOWN_DEPENDENCY = 'UNKNOWN_DEPENDENCY';
/** 422: depends_on would close a cycle. */
export const DEPENDENCY_CYCLE = 'DEPENDENCY_CYCLE';

// ---- Schedules and queues (404, 409) ----
/** 404: no schedule with that id or name. */
export const SCHEDULE_NOT_FOUND = 'SCHEDULE_NOT_FOUND';
/** 409: a schedule of that name already exists. */
export const SCHEDULE_NAME_TAKEN = 'SCHEDULE_NAME_TAKEN';
/** 409: a manual trigger whose instant another trigger took first (trigger again). */
export const TICK_TAKEN = 'TICK_TAKEN';
/** 404: no queue of that name (a queue is a registered job type). */
export const QUEUE_NOT_FOUND = 'QUEUE_NOT_FOUND';

// ---- Load and dependencies (503) ----
/** The service sheds load at once rather than queue more work behind a slow dependency. */
export const OVERLOADED = 'OVERLOADED';
/** This instance is shutting down (SIGTERM): it takes no new request; another instance, or this one restarted, will. */
export const SHUTTING_DOWN = 'SHUTTING_DOWN';
/** PostgreSQL does not answer: the request was not carried out. */
export const DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE';
/** PostgreSQL gave up a statement of the request after DB_QUERY_TIMEOUT_MS (or it was cancelled): the request was not carried out. */
export const QUERY_TIMEOUT = 'QUERY_TIMEOUT';
/** Redis does not answer: the request was not carried out. */
export const REDIS_UNAVAILABLE = 'REDIS_UNAVAILABLE';

// ---- The dashboard (404) ----
/** The dashboard's files were not built into this image. */
export const DASHBOARD_NOT_BUILT = 'DASHBOARD_NOT_BUILT';
