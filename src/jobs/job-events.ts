import type { JobEvent, JobEventName } from '../events/job-event-bus.js';
import type { Job } from './entities/job.entity.js';

/** The status each event reports a job moving to; job_created and job_progress report the current one. */
export const EVENT_OF_STATUS = {
  blocked: 'job_blocked',
  ready: 'job_ready',
  running: 'job_started',
  completed: 'job_completed',
  failed: 'job_failed',
  timeout: 'job_timeout',
  cancelled: 'job_cancelled',
  pending: 'job_retry_scheduled',
} as const satisfies Record<string, JobEventName>;

const summarize = (value: unknown, max = 2000): unknown => {
  if (value === null || value === undefined) return null;
  const text = JSON.stringify(value);
  return text.length <= max ? value : { truncated: true, preview: text.slice(0, max) };
};

/**
 * Builds a DESIGN §7 event from a job row as it is after the change. `sequence` is the row's
 * event_seq, bumped by the same UPDATE that made the change, so events of one job are ordered.
 */
export function jobEvent(event: JobEventName, job: Job, extra: Record<string, unknown> = {}): JobEvent {
  const data: JobEvent['data'] = {
    job_id: job.id,
    type: job.type,
    priority: job.priority,
    status: job.status,
    attempt: job.attempts,
    sequence: job.eventSeq,
    timestamp: job.updatedAt.toISOString(),
    ...(job.workerId && (job.status === 'running' || job.status === 'ready') ? { worker_id: job.workerId } : {}),
    ...(job.error && job.status !== 'running' && job.status !== 'completed' ? { error: summarize(job.error) } : {}),
    ...(job.status === 'completed' ? { result: summarize(job.result) } : {}),
    ...(job.nextRunAt && job.status === 'pending' ? { next_run_at: job.nextRunAt.toISOString() } : {}),
    ...(job.ref ? { ref: job.ref } : {}),
    ...extra,
  };
  return { event, jobId: job.id, data };
}
