import type { JobStatus } from '../jobs/domain/job-state.js';

/**
 * The status test of a statement that finds its jobs by id (`j.id = ANY($1)`, a join on an `unnest`
 * of ids, a join on dependency rows): `column` holds one of `statuses`, compared as text.
 *
 * Compared as text on purpose, so that no index can serve the test: not jobs_status_created_idx, and
 * no partial index whose predicate names a status (the ready queue's, `WHERE status = 'ready' AND NOT
 * allocated`). PostgreSQL then has only the primary key to find the rows, whatever its statistics say.
 * A queue table's statistics are often far from the moment: taken while nothing was ready or running,
 * they estimate a status test at one row, and with a plain `status = 'ready'` the planner chose to
 * walk the whole ready queue (jobs_ready_type_since_idx, or jobs_status_created_idx for `running`)
 * for every batch of ids instead of probing the key. Measured with auto_explain over POST /jobs/batch:
 * starts 7.3 ms and completions 4.8–7.2 ms a statement with those plans, 1.7 and 2.7 ms by the key;
 * the runs where the plans flipped did about two thirds of the jobs/s of the others.
 *
 * Reads that look for jobs by status (the ready queue, due promotions, lost placements) keep a plain
 * `status = '...'` so their partial indexes match.
 */
export function statusAmong(statuses: readonly JobStatus[], column = 'j.status'): string {
  if (statuses.length === 0) throw new Error('statusAmong needs at least one status');
  const text = `${column}::text`;
  return statuses.length === 1 ? `${text} = '${statuses[0]}'` : `${text} IN (${statuses.map((s) => `'${s}'`).join(', ')})`;
}

/**
 * The job holds its allocation, for the same statements and for the same reason: written `IS TRUE`,
 * which no partial index predicate `WHERE allocated` is proven from, so jobs_allocated_worker_idx
 * (every allocated job of a worker, estimated at one row by statistics from a quiet moment) is never
 * walked in place of the primary key. Equal to `allocated` on the NOT NULL column.
 */
export function allocatedById(column = 'j.allocated'): string {
  return `${column} IS TRUE`;
}
