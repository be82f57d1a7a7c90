import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql.js';
import type { JobEvent, JobEventName } from '../events/job-event-bus.js';
import { MOVED_JOB_COLUMNS, rowToMovedJob, type Moved, type MovedJob } from './transition-sql.js';

/**
 * Reads whether a completion's transaction committed when its COMMIT went out and no answer came back
 * (the connection ended under it). Only that transaction completes a job at the attempt it names (every
 * write is guarded by the attempt), so a job found `completed` at that attempt says it committed, and
 * its `completed_at` is the transaction's own `now()`, which every log row it wrote carries: the
 * completions', and those of the dependents it released and started. Read only.
 */
@Injectable()
export class CompletionOutcomeRepository {
  constructor(private readonly sql: Sql) {}

  /** The items' completions that committed, with the events their transaction logged, in the order it wrote them; null when none did. */
  async committed(items: ReadonlyArray<{ id: string; attempt: number }>): Promise<Moved<MovedJob> | null> {
    const ids = items.map((i) => i.id);
    const attempts = items.map((i) => i.attempt);
    const done = (
      await this.sql.query(
        `SELECT ${MOVED_JOB_COLUMNS} FROM jobs j JOIN unnest($1::uuid[], $2::int[]) AS i(job_id, attempt) ON j.id = i.job_id
         WHERE j.status = 'completed' AND j.attempts = i.attempt`,
        [ids, attempts],
      )
    ).map(rowToMovedJob);
    if (done.length === 0) return null;
    const doneIds = done.map((j) => j.id);
    const logged: Array<{ job_id: string; event: JobEventName; data: JobEvent['data'] }> = await this.sql.query(
      `WITH done AS (SELECT id, completed_at AS at FROM jobs WHERE id = ANY($1::uuid[])),
       touched AS (
         SELECT id, at, ARRAY['job_completed'] AS events FROM done
         UNION ALL
         SELECT d.job_id, done.at, ARRAY['job_ready', 'job_scheduled', 'job_started'] FROM done JOIN job_dependencies d ON d.depends_on_id = done.id
       )
       SELECT DISTINCT ON (l.id) l.job_id, l.event, l.data
       FROM touched t JOIN job_logs l ON l.job_id = t.id AND l.created_at = t.at AND l.event = ANY(t.events)
       ORDER BY l.id`,
      [doneIds],
    );
    return { jobs: done, events: logged.map((l) => ({ event: l.event, jobId: l.job_id, data: l.data })) };
  }
}
