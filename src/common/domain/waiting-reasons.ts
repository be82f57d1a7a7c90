/**
 * The codes of a job's `waiting_reason` (DESIGN §2): why a pending, blocked or ready job is not
 * running yet. Each declared once with what it means; stable once shipped. Pure constants, read by
 * jobs/ (which writes most of them), the scheduler's flow control and resources' placement.
 */
export const WAITING = {
  /** Blocked: dependencies have not completed yet (`pending_count`, `pending_ids`). */
  WAITING_FOR_DEPENDENCIES: 'WAITING_FOR_DEPENDENCIES',
  /** Pending: an attempt failed, and the next waits out its backoff (`until`). */
  RETRY_BACKOFF: 'RETRY_BACKOFF',
  /** Pending: the job may not start before its run_at (`until`, DESIGN §10). */
  SCHEDULED: 'SCHEDULED',
  /** Ready: its queue is paused (DESIGN §12). */
  QUEUE_PAUSED: 'QUEUE_PAUSED',
  /** Ready: its type, or its (type, concurrency_key) pair, has as many jobs placed or running as allowed (`scope`, `limit`, `running`). */
  CONCURRENCY_LIMIT: 'CONCURRENCY_LIMIT',
  /** Ready: its type started as many jobs as its rate limit allows in the window (`until`). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Ready: no accepting worker has the free slot, cpu or memory it needs (per dimension, how many lack it). */
  INSUFFICIENT_RESOURCES: 'INSUFFICIENT_RESOURCES',
  /** Ready: no worker is registered, or none accepts jobs (draining, stopping). */
  NO_WORKERS: 'NO_WORKERS',
} as const;

export type WaitingReasonCode = (typeof WAITING)[keyof typeof WAITING];

/** The reasons the queue rules give (DESIGN §12), which hold back a whole type or (type, key) pair. */
export const QUEUE_RULE_REASONS = [WAITING.QUEUE_PAUSED, WAITING.CONCURRENCY_LIMIT, WAITING.RATE_LIMITED] as const;
