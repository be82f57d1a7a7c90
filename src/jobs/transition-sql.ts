/** The SQL every transition statement is made of, and the one way to run one: rows and events back. */
import type { EntityManager } from 'typeorm';
import type { Sql } from '../database/sql.js';
import type { JobEvent, JobEventName } from '../events/job-event-bus.js';
import type { JobStatus } from './domain/job-state.js';
import type { Job } from './entities/job.entity.js';
import { JOB_COLUMNS, rowToJob, type JobRow } from './job-row.js';

/** What publishing and the run metrics read of a moved job: all a completion returns of it. */
export type MovedJob = Pick<Job, 'id' | 'type' | 'status' | 'startedAt'>;

/** Jobs as they are after a statement (whole, or only what `MovedJob` names), and the events it wrote (in order per job). */
export interface Moved<J extends MovedJob = Job> {
  jobs: J[];
  events: JobEvent[];
}

export const NOTHING_MOVED: Moved = { jobs: [], events: [] };

export function mergeMoved<J extends MovedJob>(...parts: Array<Moved<J>>): Moved<J> {
  return { jobs: parts.flatMap((p) => p.jobs), events: parts.flatMap((p) => p.events) };
}

/**
 * `{"actor": <name>}` for a change a request made (an SQL text expression: a parameter or a column),
 * `{}` when it is null: merged into the data of the log rows and events a statement writes, so every
 * state change a request causes says which API key's holder caused it.
 */
export const ACTOR_DATA = (expression: string) => `jsonb_strip_nulls(jsonb_build_object('actor', ${expression}::text))`;

/** The events of a moved job `m`, as a JSON array: one event named `name` (an SQL expression) by default. */
export const ONE = (name: string, data = 'job_event_data(m.row)') => `jsonb_build_array(jsonb_build_object('event', ${name}, 'data', ${data}))`;

/**
 * The tail every transition statement ends with: the rows of CTE `moved` (`row` = the whole jobs
 * row after the update) with their events, computed from the row itself. The log rows written by
 * the statement's `logged` CTE hold the same data; the events are not read back from them, because
 * joining the two would make PostgreSQL re-aggregate per row (quadratic in the batch size).
 */
export const RESULT = (moved: string, events: string) => `SELECT (m.row).*, ${events} AS events FROM ${moved} m`;

/** A log row per moved job, recording `event` with the job's event data (the same row is the event), plus `extra` (jsonb). */
export const LOG_EVENT = (source: string, level: string, message: string, event: JobEventName | string, filter = 'true', extra = `'{}'::jsonb`) => `
  SELECT (s.row).id, ${level}, ${message}, (s.row).attempts, job_event_data(s.row) || ${extra}, ${event}, (s.row).event_seq
  FROM ${source} s WHERE ${filter}`;

export const INSERT_LOGS = `INSERT INTO job_logs (job_id, level, message, attempt, data, event, sequence)`;

/*
 * The hottest transitions (start, complete, release) return flat columns instead of `j AS row`:
 * expanding `(m.row).*` deforms the whole composite once per column, and that, with the event data
 * computed twice, was a third of a completion's cost (measured: 93 -> 63 us a job in batches of 200).
 * Their event data is computed once, off the new row, in the RETURNING list.
 */
/** RETURNING list of a flat transition: the job's columns and its event data. */
export const RETURNING_FLAT = `RETURNING j.*, job_event_data(j) AS event_data`;
/** A log row per job of flat CTE `source`, recording `event` with its event data. */
export const LOG_FLAT = (source: string, level: string, message: string, event: JobEventName | string) => `
  SELECT m.id, ${level}, ${message}, m.attempts, m.event_data, ${event}, m.event_seq FROM ${source} m`;
/** The rows of flat CTE `source` with their one event each; `columns` = only those (MovedJob's), not every one. */
export const RESULT_FLAT = (source: string, event: string, columns = JOB_COLUMNS) =>
  `SELECT ${columns}, jsonb_build_array(jsonb_build_object('event', ${event}, 'data', m.event_data)) AS events FROM ${source} m`;
/** The columns of `MovedJob`: completions return no more (node-postgres would parse ~30 columns a row, seven of them timestamps, for nothing). */
export const MOVED_JOB_COLUMNS = 'id, type, status, started_at';
export const rowToMovedJob = (row: JobRow): MovedJob => ({
  id: row.id as string,
  type: row.type as string,
  status: row.status as JobStatus,
  startedAt: (row.started_at as Date | null) ?? null,
});


/**
 * Runs a transition statement (its rows carry an `events` array) and splits the result into the
 * moved jobs and their events, in order per job. (Statements whose rows matter are written as
 * `WITH x AS (UPDATE ... RETURNING) SELECT ...`: TypeORM returns `[rows, count]` for a bare UPDATE.)
 */
export function runTransition(sql: Sql, text: string, params: unknown[], tx?: EntityManager): Promise<Moved & { rows: JobRow[] }>;
export function runTransition<J extends MovedJob>(sql: Sql, text: string, params: unknown[], tx: EntityManager | undefined, toJob: (row: JobRow) => J): Promise<Moved<J> & { rows: JobRow[] }>;
export async function runTransition(
  sql: Sql,
  text: string,
  params: unknown[],
  tx?: EntityManager,
  toJob: (row: JobRow) => MovedJob = rowToJob,
): Promise<Moved<MovedJob> & { rows: JobRow[] }> {
  const rows: Array<JobRow & { events: Array<{ event: JobEventName; data: JobEvent['data'] }> | null }> = await sql.query(text, params, tx);
  const jobs: MovedJob[] = [];
  const events: JobEvent[] = [];
  for (const row of rows) {
    const job = toJob(row);
    jobs.push(job);
    for (const { event, data } of row.events ?? []) events.push({ event, jobId: job.id, data });
  }
  return { jobs, events, rows };
}
