import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { transitionInto, type JobStatus, type Priority } from './domain/job-state.js';
import { branchesOf } from './status-type-branches.js';
import type { JobErrorInfo } from './entities/job.entity.js';
import { ACTOR_DATA, INSERT_LOGS, LOG_EVENT, NOTHING_MOVED, ONE, RESULT, runTransition, type Moved } from './transition-sql.js';
import { guardOf } from './transition-guard.js';

/** The move of cancelMany, checked against the state machine when the module loads: from every state the table moves to cancelled. */
const CANCEL_MANY = guardOf('cancelMany', transitionInto('cancelled'));

export interface BulkFilter {
  statuses?: JobStatus[];
  types?: string[];
  priorities?: Priority[];
  scheduleIds?: string[];
  createdBefore?: Date;
}

export interface MatchedJob {
  id: string;
  status: JobStatus;
  createdAt: Date;
}

/** The SQL of bulk actions (DESIGN §13): matching jobs page by page, and cancelling many at once. */
@Injectable()
export class JobBulkRepository {
  constructor(private readonly sql: Sql) {}

  /** The database's clock now: where a filter's matches end (jobs created later are not the request's). */
  async now(): Promise<Date> {
    const rows: Array<{ now: Date }> = await this.sql.query(`SELECT clock_timestamp() AS now`);
    return rows[0]!.now;
  }

  /**
   * The next page of jobs matching `filter`, oldest first, after the keyset `after` (created_at, id):
   * one range of jobs_status_created_idx per status (all when none is given), merged.
   */
  async matchPage(filter: BulkFilter, after: { createdAt: Date; id: string } | null, limit: number): Promise<MatchedJob[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replaceAll('?', `$${params.length}`));
    };
    const { branches: ranges, typesInBranches } = branchesOf(filter.statuses, filter.types);
    if (filter.types?.length && !typesInBranches) add('type = ANY(?::varchar[])', filter.types);
    if (filter.priorities?.length) add('priority = ANY(?::job_priority[])', filter.priorities);
    if (filter.scheduleIds?.length) add('schedule_id = ANY(?::uuid[])', filter.scheduleIds);
    if (filter.createdBefore) add('created_at < ?::timestamptz', filter.createdBefore);
    if (after) {
      params.push(after.createdAt, after.id);
      where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit);
    const limitParam = `$${params.length}`;
    const branches = ranges.map(({ status, type }) => {
      params.push(status);
      const own = [`status = $${params.length}::job_status`];
      if (type !== undefined) own.push(`type = $${params.push(type)}::varchar`);
      const conditions = [...own, ...where].join(' AND ');
      return `(SELECT id, status, created_at FROM jobs WHERE ${conditions} ORDER BY created_at, id LIMIT ${limitParam})`;
    });
    const rows: Array<{ id: string; status: JobStatus; created_at: Date }> = await this.sql.dynamic(
      `SELECT * FROM (${branches.join(' UNION ALL ')}) page ORDER BY created_at, id LIMIT ${limitParam}`,
      params,
    );
    return rows.map((r) => ({ id: r.id, status: r.status, createdAt: r.created_at }));
  }

  /** The current status of each job that exists. */
  /** The ids that name a job, oldest first (created_at, then id), as a filter's pages come. */
  async oldestFirst(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows: Array<{ id: string }> = await this.sql.query(`SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY created_at, id`, [ids]);
    return rows.map((r) => r.id);
  }

  async statusesOf(ids: readonly string[]): Promise<Map<string, JobStatus>> {
    if (ids.length === 0) return new Map();
    const rows: Array<{ id: string; status: JobStatus }> = await this.sql.query(`SELECT id, status FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /**
   * Guarded cancel of many jobs at once (as PATCH /jobs/{id}/cancel does one): a running job keeps
   * its allocation until its handler stops. Their downstream jobs are the caller's to cancel. With
   * `statuses`, only jobs still in one of them (a filter's, read when its page was).
   */
  cancelMany(ids: readonly string[], error: JobErrorInfo, message: string, actor: string, tx: EntityManager, statuses: readonly JobStatus[] | null = null): Promise<Moved> {
    if (ids.length === 0) return Promise.resolve(NOTHING_MOVED);
    return runTransition(
      this.sql,
      `WITH moved AS (
         UPDATE jobs j SET status = 'cancelled', error = $2::jsonb, completed_at = now(), updated_at = now(),
                waiting_reason = NULL, next_run_at = NULL, event_seq = j.event_seq + 1,
                allocated = j.allocated AND j.status = 'running'
         WHERE j.id = ANY($1::uuid[]) AND ${CANCEL_MANY} AND ($5::job_status[] IS NULL OR j.status = ANY($5::job_status[]))
         RETURNING j AS row
       ), logged AS (${INSERT_LOGS} ${LOG_EVENT('moved', `'warn'`, '$3', `'job_cancelled'`, 'true', ACTOR_DATA('$4'))} )
       ${RESULT('moved', ONE(`'job_cancelled'`, `job_event_data(m.row) || ${ACTOR_DATA('$4')}`))}`,
      [ids, JSON.stringify(error), message, actor, statuses],
      tx,
    );
  }

  /** Which of these jobs have dependents (only those need a cascade). */
  async withDependents(ids: readonly string[], tx: EntityManager): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows: Array<{ id: string }> = await this.sql.query(
      `SELECT DISTINCT depends_on_id AS id FROM job_dependencies WHERE depends_on_id = ANY($1::uuid[])`,
      [ids],
      tx,
    );
    return rows.map((r) => r.id);
  }
}
