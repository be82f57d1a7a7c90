import { WAITING } from '../common/domain/waiting-reasons.js';
import { firstState, type DependencyView } from './domain/first-state.js';
import { scheduledReason } from './domain/run-at.js';
import type { Job } from './entities/job.entity.js';
import type { NewJob } from './job.repository.js';

/** DESIGN §2 WAITING_FOR_DEPENDENCIES, listing (up to 100 of) the unfinished dependencies. */
export function waitingForDependencies(unfinished: string[], total: number): Job['waitingReason'] {
  return {
    code: WAITING.WAITING_FOR_DEPENDENCIES,
    message: `waiting for ${unfinished.length} of ${total} dependencies to complete`,
    pending_count: unfinished.length,
    pending_ids: unfinished.slice(0, 100),
  };
}

/**
 * Stores in a draft the state its job is submitted in (DESIGN §3, §10), from its dependencies' states
 * and its run_at: cancelled (naming the failed dependency), blocked (waiting for dependencies),
 * pending until its run_at (SCHEDULED), or ready.
 */
export function applyFirstState(draft: NewJob, dependencies: readonly DependencyView[], now = new Date()): void {
  const state = firstState(dependencies, draft.runAt, now);
  draft.status = state.status;
  draft.pendingDependencies = state.pendingDependencies;
  draft.error = state.error;
  draft.completedAt = state.status === 'cancelled' ? now : null;
  draft.nextRunAt = state.status === 'pending' ? draft.runAt : null;
  draft.waitingReason =
    state.status === 'blocked'
      ? waitingForDependencies(state.unfinished, dependencies.length)
      : state.status === 'pending'
        ? scheduledReason(draft.runAt!)
        : null;
}
