import { JOB_STATUSES, type JobStatus } from './domain/job-state.js';

/** Up to this many types, a filter by type reads each type's own index range; past it, one filter over each status's range. */
export const TYPES_AS_RANGES = 8;

/** One index range a list reads: a status, and a type when the filter's types are read range by range. */
export interface Branch {
  status: JobStatus;
  type?: string;
}

/**
 * The index ranges a list or a bulk action by filter reads, newest or oldest first, merged: one per
 * status asked (every status when none), and, when the filter names a few types, one per status and
 * type. A finished status and a type are one range of jobs_finished_type_created_idx, a few entries per
 * page; `type = ANY(...)` inside a status's range would skip, row by row, the jobs of every other type,
 * so a rare type walked the whole history of each finished status (PostgreSQL gives no ordered output
 * for a list on an index's leading column). Pure.
 */
export function branchesOf(statuses: readonly JobStatus[] | undefined, types: readonly string[] | undefined): { branches: Branch[]; typesInBranches: boolean } {
  const asked = statuses?.length ? [...new Set(statuses)] : JOB_STATUSES;
  const named = types?.length ? [...new Set(types)] : [];
  if (named.length === 0 || named.length > TYPES_AS_RANGES) return { branches: asked.map((status) => ({ status })), typesInBranches: false };
  return { branches: asked.flatMap((status) => named.map((type) => ({ status, type }))), typesInBranches: true };
}
