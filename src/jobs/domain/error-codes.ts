/**
 * The codes the engine itself stores in a job's `error.code` when an attempt ended without its
 * handler deciding it (DESIGN §2 lists the rest: HANDLER_ERROR, TIMEOUT, DEPENDENCY_FAILED, ...).
 * Each is retried by the job's retry_config, like a handler's failure.
 */

/** The attempt's worker stopped heartbeating for WORKER_LOST_SECONDS, stopped, or restarted while it ran. */
export const WORKER_LOST = 'WORKER_LOST';

/**
 * The attempt was `running` on a live worker that no longer executes it, and no outcome was ever
 * recorded: the answer to its start, or the write of its outcome, was lost with a connection, or
 * the worker fenced itself (it could not renew its lease in time and aborted its jobs). The handler
 * may or may not have run, in full or in part: the retry is what at-least-once promises.
 */
export const OUTCOME_LOST = 'OUTCOME_LOST';
