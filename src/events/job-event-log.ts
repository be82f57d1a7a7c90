import type { JobEvent } from './job-event-bus.js';

/**
 * Where a job's published events can be read again (each was recorded with the change it describes):
 * the catch-up of live updates after a reconnect (DESIGN §7). Read only.
 */
export abstract class JobEventLog {
  /**
   * The job's events after `afterSequence`, in order, at most a page of them (`more`: the page was
   * full, ask again after its last sequence); null when there is no such job.
   */
  abstract eventsSince(jobId: string, afterSequence: number): Promise<{ events: JobEvent[]; more: boolean } | null>;
}
