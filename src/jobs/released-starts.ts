/**
 * Jobs a transaction made ready (dependents a completion released, jobs a submit inserted), and the
 * scheduler starting them inside that same transaction (DESIGN §4): what placing them takes, and the
 * hook through which the jobs module offers them to the scheduler without depending on it.
 */
import type { EntityManager } from 'typeorm';
import { toReadyJob, type ReadyJob } from '../database/job-order.js';
import type { JobStatus } from './domain/job-state.js';
import type { Job } from './entities/job.entity.js';
import type { JobRow, StartedJob } from './job-row.js';
import { MOVED_JOB_COLUMNS, rowToMovedJob, type Moved, type MovedJob } from './transition-sql.js';

/** A dependent a completion released (ready, or pending until its run_at), with what placing it takes. */
export type ReleasedJob = MovedJob & ReadyJob;

export const RELEASED_JOB_COLUMNS = `${MOVED_JOB_COLUMNS}, priority, cpu_units, memory_mb, concurrency_key, created_at, queued_at`;
export const rowToReleasedJob = (row: JobRow): ReleasedJob => ({
  ...rowToMovedJob(row),
  ...toReadyJob(row),
  status: row.status as JobStatus,
  reasonCode: null,
  reasonMessage: null,
});

/** A job a submit inserted, as the scheduler places it (the same fields the release statement returns). */
export const jobToReleased = (job: Job): ReleasedJob => ({
  id: job.id,
  type: job.type,
  status: job.status,
  startedAt: job.startedAt,
  priority: job.priority,
  cpuUnits: job.cpuUnits,
  memoryMb: job.memoryMb,
  concurrencyKey: job.concurrencyKey,
  queuedAt: job.queuedAt,
  createdAt: job.createdAt,
  reasonCode: null,
  reasonMessage: null,
});

/**
 * Work done inside a completion's transaction after it released dependents (at least one of them
 * ready): the scheduler starting them at once (JobLifecycleService.startReleasedWith). What it moved
 * is published after the completion's and the release's events.
 */
export type AfterRelease = (released: readonly ReleasedJob[], completedIds: readonly string[], tx: EntityManager) => Promise<Moved<MovedJob>>;

/**
 * Starts jobs that a transaction made ready (a completion's dependents, a submit's jobs) inside that
 * transaction: the scheduler's, registered when this process can lead it
 * (JobLifecycleService.startReleasedWith).
 */
export interface ReleasedStarter {
  /**
   * Called inside the transaction, with every job it made ready or released: a plan to place and
   * start some of them on workers of this process, or null to leave them all to a placement pass.
   * Must not wait for anything (the transaction holds a connection, in embedded mode the only one).
   * `batchIds`: the other jobs whose events are published in the same batch (the completed ones).
   */
  claim(released: readonly ReleasedJob[], batchIds: readonly string[]): ReleasedClaim | null;
  /** Whether a claim made now could place anything: worth a transaction around a submit's insert. */
  mayClaim(): boolean;
}

/**
 * What a transaction started of the jobs it made ready (JobLifecycleService.startInTransaction):
 * `moved` to publish after the transaction's own events; `settle` once it has ended, with true after
 * the commit and that publish, with false when it did not commit. Settling twice does nothing.
 */
export interface InTransactionStarts {
  moved: Moved<MovedJob>;
  settle(committed: boolean): void;
}

export const NO_STARTS: InTransactionStarts = { moved: { jobs: [], events: [] }, settle: () => undefined };

export interface ReleasedClaim {
  /** The leadership term the plan was made in: the starts are fenced by it. */
  epoch: number | null;
  placements: ReadonlyArray<{ workerId: string; ids: string[] }>;
  /**
   * After the commit and the events' publish, with what started on each worker; or with null when
   * the transaction did not commit (nothing of it happened).
   */
  settle(started: ReadonlyArray<{ workerId: string; jobs: StartedJob[] }> | null): void;
}
