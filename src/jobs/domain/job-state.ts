/** The job state machine (DESIGN §3). The only place that knows which moves are legal. No I/O. */
export const JOB_STATUSES = ['pending', 'blocked', 'ready', 'running', 'completed', 'failed', 'timeout', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  pending: ['ready', 'blocked', 'cancelled'],
  blocked: ['ready', 'pending', 'cancelled'], // -> pending: dependencies done while its run_at is still ahead (DESIGN §10)
  ready: ['running', 'cancelled'],
  running: ['completed', 'failed', 'timeout', 'cancelled'],
  failed: ['pending', 'ready', 'blocked'], // retry while attempts remain (-> pending); a manual retry (-> ready | blocked | pending)
  timeout: ['pending', 'ready', 'blocked'], // likewise
  completed: [],
  cancelled: ['ready', 'blocked', 'pending'], // a manual retry (DESIGN §13); -> pending while its run_at is ahead (§10)
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`illegal job transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** `attemptsLeft` matters only for the retry moves failed|timeout -> pending. */
export function canMove(from: JobStatus, to: JobStatus, attemptsLeft = 1): boolean {
  const isRetry = to === 'pending' && (from === 'failed' || from === 'timeout');
  return NEXT[from].includes(to) && (!isRetry || attemptsLeft > 0);
}

export function assertTransition(from: JobStatus, to: JobStatus, attemptsLeft = 1): void {
  if (!canMove(from, to, attemptsLeft)) throw new IllegalTransitionError(from, to);
}

/**
 * Whether a job in this status is finished for good. `failed` and `timeout` are terminal only once
 * the scheduler decided not to retry; a stored failed/timeout row is always terminal, because the
 * retry decision moves it to `pending` in the same transaction.
 */
export function isTerminal(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'timeout' || status === 'cancelled';
}

/** Terminal and not successful: dependents of such a job can never run (DESIGN §3). */
export function isFailedForGood(status: JobStatus): boolean {
  return status === 'failed' || status === 'timeout' || status === 'cancelled';
}

/** States a manual retry (POST /jobs/{id}/retry) re-runs: those with a move to `ready` other than `blocked`'s and `pending`'s. */
export const RETRYABLE_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((from) => isFailedForGood(from) && NEXT[from].includes('ready'));

/** Whether a manual retry may re-run a job in this status. */
export function isRetryable(status: JobStatus): boolean {
  return RETRYABLE_STATUSES.includes(status);
}

/** Sources from which `to` can be reached, for guarded updates that accept several current states. */
export function sourcesOf(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => NEXT[from].includes(to));
}

/**
 * A move that a statement performs: from each of `from` to each of `to`, every pair an edge of the
 * table. Built only by `transition` and `transitionInto`, which refuse a pair the table lacks.
 */
export interface Transition {
  readonly from: readonly JobStatus[];
  readonly to: readonly JobStatus[];
}

/**
 * The move from `from` to `to` (one status or several each), checked against the table: throws
 * IllegalTransitionError for a pair it lacks. Statements call it when their module loads, so a
 * statement that performs a move the table does not allow fails at the first import, not on a request.
 */
export function transition(from: JobStatus | readonly JobStatus[], to: JobStatus | readonly JobStatus[]): Transition {
  const froms: JobStatus[] = typeof from === 'string' ? [from] : [...from];
  const tos: JobStatus[] = typeof to === 'string' ? [to] : [...to];
  if (froms.length === 0 || tos.length === 0) throw new Error('a transition needs at least one source and one target');
  for (const f of froms) for (const t of tos) if (!NEXT[f].includes(t)) throw new IllegalTransitionError(f, t);
  return Object.freeze({ from: Object.freeze(froms), to: Object.freeze(tos) });
}

/** Every move into `to`: from each of its sources in the table (`sourcesOf`). */
export function transitionInto(to: JobStatus): Transition {
  return transition(sourcesOf(to), to);
}
