import { DEPENDENCY_RESULTS_TOO_LARGE } from '../jobs/domain/error-codes.js';
import type { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import type { DependencyResult } from '../jobs/job-row.js';

/**
 * The most bytes of dependencies' results (as JSON text, all together) a worker reads for one job: a
 * fan-in of 1,000 jobs with 1 MiB results each would be a gigabyte parsed into one process, which would
 * run out of memory with every job it runs. Past it the job fails at once (DEPENDENCY_RESULTS_TOO_LARGE).
 */
export const MAX_DEPENDENCY_RESULTS_BYTES = 128 * 1024 * 1024;

/** A job's dependencies' results by id and by ref; `tooLarge` (their size, no result) when they pass MAX_DEPENDENCY_RESULTS_BYTES. */
export async function readDependencyResults(
  lifecycle: Pick<JobLifecycleService, 'dependencyResults'>,
  jobId: string,
  maxBytes = MAX_DEPENDENCY_RESULTS_BYTES,
): Promise<{ results: Map<string, DependencyResult>; tooLarge?: number }> {
  const read = await lifecycle.dependencyResults(jobId, maxBytes);
  if (read.bytes > maxBytes) return { results: new Map(), tooLarge: read.bytes };
  const results = new Map<string, DependencyResult>();
  for (const dep of read.results) {
    results.set(dep.id, dep);
    if (dep.ref && !results.has(dep.ref)) results.set(dep.ref, dep);
  }
  return { results };
}

/** The stored error of a job whose dependencies' results are too large to read: not retried (the same results would be read). */
export function dependencyResultsTooLarge(bytes: number, maxBytes = MAX_DEPENDENCY_RESULTS_BYTES): { code: string; message: string; retryable: false } {
  return {
    code: DEPENDENCY_RESULTS_TOO_LARGE,
    message: `the results of the job's dependencies are ${bytes} bytes of JSON together; a worker reads at most ${maxBytes} for one job`,
    retryable: false,
  };
}
