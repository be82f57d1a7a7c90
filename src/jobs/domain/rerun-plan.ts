/**
 * What a manual retry re-runs (DESIGN §13). Pure: given the job to retry, the jobs downstream of it
 * that a failure cancelled (`DEPENDENCY_FAILED`, its or another root's) and the states of everyone's
 * dependencies, decides which jobs come back and in which state. No I/O.
 */
import { DEPENDENCY_NOT_COMPLETED, JOB_NOT_RETRYABLE } from '../../common/domain/error-codes.js';
import { assertTransition, isFailedForGood, isRetryable, type JobStatus } from './job-state.js';
import { isAhead } from './run-at.js';

export interface RerunDependency {
  id: string;
  status: JobStatus;
}

export interface RerunNode {
  id: string;
  status: JobStatus;
  /** Every direct dependency with its current state, in a stable order. */
  dependencies: readonly RerunDependency[];
  /** When the job may start at the earliest (DESIGN §10), if it was delayed. */
  runAt?: Date | null;
}

export interface RerunStep {
  id: string;
  /** `blocked` while a dependency has not completed, else `pending` while its run_at is ahead, else `ready`. */
  status: 'ready' | 'blocked' | 'pending';
  /** Dependencies not completed (those coming back count): the DAG counter the job starts with again. */
  pendingDependencies: number;
  /** Their ids, for the job's WAITING_FOR_DEPENDENCIES reason. */
  unfinished: string[];
}

export type RerunPlan =
  | { ok: true; steps: RerunStep[]; kept: Array<{ id: string; dependencyId: string }> }
  | { ok: false; code: typeof JOB_NOT_RETRYABLE; status: JobStatus }
  | { ok: false; code: typeof DEPENDENCY_NOT_COMPLETED; dependencyId: string; dependencyStatus: JobStatus };

/**
 * Plans the retry of `target`. Its downstream `cancelled` jobs come back (to `blocked`) unless one of
 * their other dependencies ended without completing and does not come back itself: such a job would
 * wait forever, so it stays cancelled (`kept`), and so do the jobs behind it.
 */
export function planRerun(target: RerunNode, downstream: readonly RerunNode[], now = new Date()): RerunPlan {
  if (!isRetryable(target.status)) return { ok: false, code: JOB_NOT_RETRYABLE, status: target.status };
  const failedDependency = target.dependencies.find((d) => isFailedForGood(d.status));
  if (failedDependency) {
    return { ok: false, code: DEPENDENCY_NOT_COMPLETED, dependencyId: failedDependency.id, dependencyStatus: failedDependency.status };
  }

  const back = new Set([target.id, ...downstream.filter((n) => n.id !== target.id && n.status === 'cancelled').map((n) => n.id)]);
  const kept: Array<{ id: string; dependencyId: string }> = [];
  // A job whose dependency stays failed stays cancelled; that may keep others behind it: to a fixpoint.
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of downstream) {
      if (!back.has(node.id) || node.id === target.id) continue;
      const blocker = node.dependencies.find((d) => isFailedForGood(d.status) && !back.has(d.id));
      if (blocker) {
        back.delete(node.id);
        kept.push({ id: node.id, dependencyId: blocker.id });
        changed = true;
      }
    }
  }

  const steps = [target, ...downstream.filter((n) => n.id !== target.id && back.has(n.id))].map((node): RerunStep => {
    const unfinished = node.dependencies.filter((d) => d.status !== 'completed').map((d) => d.id);
    const status = unfinished.length > 0 ? 'blocked' : isAhead(node.runAt ?? null, now) ? 'pending' : 'ready';
    assertTransition(node.status, status);
    return { id: node.id, status, pendingDependencies: unfinished.length, unfinished };
  });
  return { ok: true, steps, kept };
}
