import { WAITING } from '../common/domain/waiting-reasons.js';
import { firstState, type DependencyView } from './domain/first-state.js';
import { UnknownDependencyError } from '../common/errors/domain-error.js';
import type { JobStatus } from './domain/job-state.js';
import { scheduledReason } from './domain/run-at.js';
import type { Job, JobErrorInfo } from './entities/job.entity.js';
import type { DependencyState } from './job-graph.repository.js';
import type { NewJob } from './new-job.js';
import { databaseTime } from '../common/database-time.js';

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
export function applyFirstState(draft: NewJob, dependencies: readonly DependencyView[], now = databaseTime.date()): void {
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

/** A dependency as the first-state rule sees it: a locked row, or the draft of a new job of the same batch. */
export function dependencyView(d: { id: string; status: JobStatus; error: JobErrorInfo | null }): DependencyView {
  const rootId = typeof d.error?.root_id === 'string' ? d.error.root_id : undefined;
  return { id: d.id, status: d.status, rootId };
}

/** The locked dependencies as the first-state rule sees them, by id; refuses the `named` ids that are no job. */
export function lockedViews(named: readonly string[], locked: readonly DependencyState[]): Map<string, DependencyView> {
  const views = new Map(locked.map((d) => [d.id, dependencyView(d)]));
  const unknown = named.filter((id) => !views.has(id));
  if (unknown.length > 0) throw new UnknownDependencyError(unknown);
  return views;
}
