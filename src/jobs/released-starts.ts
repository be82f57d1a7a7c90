/**
 * Dependents a completion released, and the scheduler starting them inside the completion's own
 * transaction (DESIGN §4): what the release statement returns of them, and the hook through which the
 * jobs module offers them to the scheduler without depending on it.
 */
import type { EntityManager } from 'typeorm';
import { toReadyJob, type ReadyJob } from '../database/job-order.js';
import type { JobStatus } from './domain/job-state.js';
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

/**
 * Work done inside a completion's transaction after it released dependents (at least one of them
 * ready): the scheduler starting them at once (JobLifecycleService.startReleasedWith). What it moved
 * is published after the completion's and the release's events.
 */
export type AfterRelease = (released: readonly ReleasedJob[], completedIds: readonly string[], tx: EntityManager) => Promise<Moved<MovedJob>>;

/**
 * Starts dependents that a completion released, inside the completion's own transaction: the
 * scheduler's, registered when this process can lead it (JobLifecycleService.startReleasedWith).
 */
export interface ReleasedStarter {
  /**
   * Called inside the completion's transaction, with every dependent it released: a plan to place
   * and start some of them on workers of this process, or null to leave them all to a placement pass.
   * Must not wait for anything (the transaction holds a connection, in embedded mode the only one).
   * `completedIds`: the jobs whose completion released them, published in the same batch of events.
   */
  claim(released: readonly ReleasedJob[], completedIds: readonly string[]): ReleasedClaim | null;
}

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
