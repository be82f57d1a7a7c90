/** A job's log rows (job_logs): a page of them, new lines, and the events they recorded (replay). */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import type { JobEvent, JobEventName } from '../events/job-event-bus.js';
import { JobLog, type JobLogLevel } from './entities/job-log.entity.js';

export interface LogLine {
  jobId: string;
  level: JobLogLevel;
  message: string;
  attempt: number;
  /** The line's data as JSON text, serialised when the line was written (JobLifecycleService.log). */
  data: string | null;
}

/** SQL and row mapping for job_logs. No decisions: those belong to the services. */
@Injectable()
export class JobLogRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Oldest first, keyset on id. `fetched`: how many lines the page read (one more than `limit` when
   * there is a next page); `logs` holds fewer when their messages and data pass `maxBytes` (the first
   * line always comes).
   */
  async logs(jobId: string, afterId: string | undefined, limit: number, maxBytes: number): Promise<{ logs: JobLog[]; fetched: number }> {
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `SELECT * FROM (
         SELECT l.*, count(*) OVER () AS fetched,
                coalesce(sum(octet_length(message) + coalesce(octet_length(data::text), 0)) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
         FROM (SELECT id, job_id, created_at, level, message, attempt, data, event, sequence FROM job_logs
               WHERE job_id = $1 AND ($2::bigint IS NULL OR id > $2::bigint) ORDER BY id LIMIT $3) l
       ) sized WHERE before < $4::bigint ORDER BY id`,
      [jobId, afterId ?? null, limit + 1, maxBytes]
    );
    return { logs: rows.map((r) =>
      Object.assign(new JobLog(), {
        id: String(r.id),
        jobId: r.job_id as string,
        createdAt: r.created_at as Date,
        level: r.level as JobLogLevel,
        message: r.message as string,
        attempt: r.attempt as number,
        data: (r.data as Record<string, unknown> | null) ?? null,
        event: (r.event as string | null) ?? null,
        sequence: (r.sequence as number | null) ?? null,
      }),
    ), fetched: Number(rows[0]?.fetched ?? 0) };
  }

  /**
   * Handler log lines, in order, of the jobs that still exist: a line of a deleted job is dropped
   * (a handler that ignored its signal may log after its job timed out, was cancelled and deleted;
   * job_logs has no foreign key, so its rows would stay forever). The jobs are key-share locked, which
   * orders the insert with a concurrent delete (it locks the job FOR UPDATE first): either the delete
   * commits first and the lines are dropped, or the insert does and the delete's own
   * `DELETE FROM job_logs`, a later statement, takes them with it. Locked in id order, as bulk
   * operations lock jobs, so the two cannot deadlock.
   */
  async appendLogs(lines: readonly LogLine[], tx?: EntityManager): Promise<void> {
    if (lines.length === 0) return;
    await this.sql.query(
      `WITH line AS (
         SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::text[], $4::int[], $5::jsonb[]) WITH ORDINALITY
           AS l(job_id, level, message, attempt, data, n)
       ), live AS (
         SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE
       )
       INSERT INTO job_logs (job_id, level, message, attempt, data)
       SELECT job_id, level, message, attempt, data FROM line WHERE job_id = ANY(ARRAY(SELECT id FROM live)) ORDER BY n`,
      [
        lines.map((l) => l.jobId),
        lines.map((l) => l.level),
        lines.map((l) => l.message),
        lines.map((l) => l.attempt),
        lines.map((l) => l.data),
      ], tx
    );
  }

  /** A job's published events after `afterSequence` (each is a job_logs row), in order. */
  /**
   * The job's events after `afterSequence`, in order: at most `limit`, and no more than start within
   * `maxBytes` of their data (the first always). `fetched`: how many the count alone allowed (more than
   * are returned when the bytes cut the page).
   */
  async eventsSince(jobId: string, afterSequence: number, limit: number, maxBytes: number): Promise<{ rows: Array<{ event: JobEventName; data: JobEvent['data'] }>; fetched: number }> {
    const rows: Array<{ event: JobEventName; data: JobEvent['data']; fetched: number }> = await this.sql.query(
      `SELECT event, data, fetched::int FROM (
         SELECT event, data, sequence, count(*) OVER () AS fetched,
                coalesce(sum(octet_length(data::text)) OVER (ORDER BY sequence ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
         FROM (SELECT event, data, sequence FROM job_logs WHERE job_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3) l
       ) page WHERE before < $4 ORDER BY sequence`,
      [jobId, afterSequence, limit, maxBytes],
    );
    return { rows: rows.map(({ event, data }) => ({ event, data })), fetched: rows[0]?.fetched ?? 0 };
  }
}
