/**
 * The codes stored in a job's `error.code` (DESIGN §2), each declared once with what it means; stable
 * once shipped. The codes of the API's error bodies are common/domain/error-codes.ts's.
 */

// ---- An attempt failed: retried by the job's retry_config while attempts remain ----
/** The handler threw or rejected (`name`, and the thrown error's own code as `cause_code`). */
export const HANDLER_ERROR = 'HANDLER_ERROR';
/** The attempt ran longer than the job's timeout_seconds; the job ends `timeout`. */
export const TIMEOUT = 'TIMEOUT';
/** The worker stopped (SIGTERM) before the job finished, and released it for a retry (`worker_id`). */
export const WORKER_SHUTDOWN = 'WORKER_SHUTDOWN';
/** The handler's result cannot be written as JSON. */
export const RESULT_NOT_JSON = 'RESULT_NOT_JSON';
/** The handler's result is larger than the service stores (MAX_RESULT_BYTES). */
export const RESULT_TOO_LARGE = 'RESULT_TOO_LARGE';
/** PostgreSQL refused the handler's result (text it cannot hold, ...). */
export const RESULT_NOT_STORABLE = 'RESULT_NOT_STORABLE';
/** The job's dependencies' results together are larger than a worker reads for one job (MAX_DEPENDENCY_RESULTS_BYTES). */
export const DEPENDENCY_RESULTS_TOO_LARGE = 'DEPENDENCY_RESULTS_TOO_LARGE';

/** The attempt's worker stopped heartbeating for WORKER_LOST_SECONDS, stopped, or restarted while it ran. */
export const WORKER_LOST = 'WORKER_LOST';

/**
 * The attempt was `running` on a live worker that no longer executes it, and no outcome was ever
 * recorded: the answer to its start, or the write of its outcome, was lost with a connection, or
 * the worker fenced itself (it could not renew its lease in time and aborted its jobs). The handler
 * may or may not have run, in full or in part: the retry is what at-least-once promises.
 */
export const OUTCOME_LOST = 'OUTCOME_LOST';

// ---- The job was cancelled: never retried by itself ----
/** A dependency ended failed, timeout or cancelled (`dependency_id`: the direct one; `root_id`: where the cascade began). */
export const DEPENDENCY_FAILED = 'DEPENDENCY_FAILED';
/** Cancelled through PATCH /jobs/{id}/cancel or POST /jobs/bulk/cancel (`actor`: the API key's name). */
export const CANCELLED_BY_USER = 'CANCELLED_BY_USER';
/** Cancelled by its schedule's next tick (overlap_policy cancel_previous, DESIGN §11; `schedule_id`). */
export const SUPERSEDED_BY_SCHEDULE = 'SUPERSEDED_BY_SCHEDULE';

// ---- The `cause_code` of a HANDLER_ERROR thrown by a built-in handler ----
/** data_fetch: no complete response within its timeout_ms. */
export const FETCH_TIMEOUT = 'FETCH_TIMEOUT';
