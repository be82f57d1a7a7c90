/** The JobEventLog of jobs: a job's events read back from its job_logs rows. */
import { Injectable } from '@nestjs/common';
import type { JobEvent } from '../events/job-event-bus.js';
import { JobEventLog } from '../events/job-event-log.js';
import { JobLogRepository } from './job-log.repository.js';
import { JobRepository } from './job.repository.js';

/** Most events one replay returns (a job has a handful, plus its progress events); the ack says when there are more. */
export const REPLAY_LIMIT = 10_000;
/**
 * Most bytes of event data one replay returns (past the first event): a page well under what a client may
 * have unsent before it is cut off (MAX_UNSENT_BYTES, 16 MiB), so that a client reading at WAN speed gets
 * a job's large progress events over several pages instead of being cut off on the same page again.
 */
export const REPLAY_MAX_BYTES = 4 * 1024 * 1024;

@Injectable()
export class JobEventLogService extends JobEventLog {
  constructor(
    private readonly jobs: JobRepository,
    private readonly jobLogs: JobLogRepository,
  ) {
    super();
  }

  /**
   * Catch-up for live updates (DESIGN §7): the job's events after a sequence number; null for an unknown
   * job. Whether the job exists is asked only when it has no such events, and of its id and status
   * alone: the job row carries a payload of up to 1 MiB that a replay has no use for.
   */
  async eventsSince(id: string, afterSequence: number): Promise<{ events: JobEvent[]; more: boolean } | null> {
    const jobId = id.toLowerCase(); // as PostgreSQL writes a uuid
    const { rows, fetched } = await this.jobLogs.eventsSince(jobId, afterSequence, REPLAY_LIMIT + 1, REPLAY_MAX_BYTES);
    if (rows.length === 0 && !(await this.jobs.statusesOf([jobId])).has(jobId)) return null;
    const more = rows.length > REPLAY_LIMIT || fetched > rows.length;
    return { events: rows.slice(0, REPLAY_LIMIT).map((r) => ({ event: r.event, jobId, data: r.data })), more };
  }
}
