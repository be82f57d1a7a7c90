import { DEPENDENCY_FAILED } from './error-codes.js';
import { assertTransition, isFailedForGood, type JobStatus } from './job-state.js';
import { isAhead } from './run-at.js';

/** A dependency as a new job sees it at submit. */
export interface DependencyView {
  id: string;
  status: JobStatus;
  /** Where a cascade started, when the dependency was itself cancelled by one. */
  rootId?: string;
}

export interface FirstState {
  status: 'ready' | 'blocked' | 'cancelled' | 'pending';
  pendingDependencies: number;
  unfinished: string[];
  error: { code: typeof DEPENDENCY_FAILED; message: string; dependency_id: string; root_id: string } | null;
}

/**
 * The state a job is stored in at submit (DESIGN §3, §10): cancelled when a dependency ended badly
 * (naming it and the root of the cascade), blocked while any dependency is unfinished, pending
 * while its `runAt` is ahead of `now`, else ready.
 */
export function firstState(dependencies: readonly DependencyView[], runAt: Date | null = null, now = new Date()): FirstState {
  const failed = dependencies.find((d) => isFailedForGood(d.status));
  if (failed) {
    return {
      status: 'cancelled',
      pendingDependencies: 0,
      unfinished: [],
      error: {
        code: DEPENDENCY_FAILED,
        message: `dependency ${failed.id} ended ${failed.status}; this job can never run`,
        dependency_id: failed.id,
        root_id: failed.rootId ?? failed.id,
      },
    };
  }
  const unfinished = dependencies.filter((d) => d.status !== 'completed').map((d) => d.id);
  if (unfinished.length > 0) return { status: 'blocked', pendingDependencies: unfinished.length, unfinished, error: null };
  return { status: afterDependencies(runAt, now), pendingDependencies: 0, unfinished, error: null };
}

/**
 * Where a job goes once nothing holds it back but time: `pending` until its `runAt` when that is
 * still ahead, else `ready`. The same rule as the move out of `blocked` when its last dependency
 * completes (JobTransitionsRepository.releaseDependents applies it in SQL), so both moves are
 * checked against the state machine here.
 */
export function afterDependencies(runAt: Date | null, now: Date): 'ready' | 'pending' {
  const status = isAhead(runAt, now) ? 'pending' : 'ready';
  assertTransition('blocked', status);
  return status;
}
