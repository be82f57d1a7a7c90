import { isFailedForGood, type JobStatus } from './job-state.js';

/** A dependency as a new job sees it at submit. */
export interface DependencyView {
  id: string;
  status: JobStatus;
  /** Where a cascade started, when the dependency was itself cancelled by one. */
  rootId?: string;
}

export interface FirstState {
  status: 'ready' | 'blocked' | 'cancelled';
  pendingDependencies: number;
  unfinished: string[];
  error: { code: 'DEPENDENCY_FAILED'; message: string; dependency_id: string; root_id: string } | null;
}

/**
 * The state a job is stored in at submit (DESIGN §3): cancelled when a dependency ended badly
 * (naming it and the root of the cascade), blocked while any dependency is unfinished, else ready.
 */
export function firstState(dependencies: readonly DependencyView[]): FirstState {
  const failed = dependencies.find((d) => isFailedForGood(d.status));
  if (failed) {
    return {
      status: 'cancelled',
      pendingDependencies: 0,
      unfinished: [],
      error: {
        code: 'DEPENDENCY_FAILED',
        message: `dependency ${failed.id} ended ${failed.status}; this job can never run`,
        dependency_id: failed.id,
        root_id: failed.rootId ?? failed.id,
      },
    };
  }
  const unfinished = dependencies.filter((d) => d.status !== 'completed').map((d) => d.id);
  return { status: unfinished.length > 0 ? 'blocked' : 'ready', pendingDependencies: unfinished.length, unfinished, error: null };
}
