import type { StartedJob } from '../jobs/job-row.js';

/** A placed job handed to its worker. */
export interface Dispatch {
  workerId: string;
  jobId: string;
  /** The attempt the worker is to start (attempts + 1). */
  attempt: number;
}

/**
 * Hands placed jobs to their workers (DESIGN §1). Repeats are harmless: the worker's start is a
 * guarded update, and the Bull implementation dedups on `<job id>:<attempt>` (a hand-over
 * again past a copy a dead consumer still holds goes out under an id of its own).
 */
export abstract class JobDispatcher {
  /**
   * `again`: these were handed over before and never started (the queue may have lost them, or hold
   * a dead copy): a copy that is not running is replaced.
   */
  abstract dispatch(items: readonly Dispatch[], options?: { again?: boolean }): Promise<void>;
  /**
   * True when the worker consumes its jobs in this very process: the scheduler then places and
   * starts them in one statement and hands them over started (`handOver`), with no queue between.
   */
  abstract runsHere(workerId: string): boolean;
  /** Gives jobs already started on a worker of this process to it (see `runsHere`). */
  abstract handOver(workerId: string, started: readonly StartedJob[]): void;
  /** Drops what the dispatcher holds for a worker that is gone (its queue's keys in Redis too). */
  abstract forget(workerId: string): Promise<void>;
  /**
   * Closes what this process holds open for the queues of workers not in `live` (stopped, or gone from
   * the table), keeping their keys: with a new WORKER_ID at every restart, the handles would otherwise
   * pile up in the leader. A later dispatch to such a worker opens its queue again.
   */
  abstract closeQueuesExcept(live: ReadonlySet<string>): void;
  /**
   * True when the queues may have lost what was handed to them since the last call (Redis was
   * emptied or replaced): every placement not yet started is then handed over again at once.
   */
  abstract queuesWereReset(): Promise<boolean>;
}

/** The queue a worker consumes. */
export const workerQueueName = (workerId: string) => `worker:${workerId}`;

/** What travels through the queue: ids only (PostgreSQL holds the job). */
export interface DispatchedJobData {
  jobId: string;
  attempt: number;
  /** Set only in-process (never through Bull): the job was started by the hand-over itself. */
  started?: StartedJob;
}
