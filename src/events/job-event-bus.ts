/** The events of DESIGN §7, declared once. */
export const JOB_EVENTS = [
  'job_created',
  'job_blocked',
  'job_ready',
  'job_started',
  'job_progress',
  'job_completed',
  'job_failed',
  'job_timeout',
  'job_retry_scheduled',
  'job_cancelled',
  /** A blocked job's dependencies completed while its run_at is still ahead: it waits pending until then (DESIGN §10). */
  'job_scheduled',
] as const;
export type JobEventName = (typeof JOB_EVENTS)[number];

/** The wire `data` of a job_update (DESIGN §7); at least these fields, plus event-specific ones. */
export interface JobEventData {
  job_id: string;
  type: string;
  priority: string;
  status: string;
  attempt: number;
  /** Per-job sequence number, 1 for job_created, +1 per event (catch-up after a reconnect). */
  sequence: number;
  timestamp: string;
  [extra: string]: unknown;
}

export interface JobEvent {
  event: JobEventName;
  jobId: string;
  data: JobEventData;
}

/** The events of a schedule (DESIGN §15), relayed as `schedule_update`. */
export const SCHEDULE_EVENTS = ['schedule_created', 'schedule_updated', 'schedule_deleted', 'schedule_fired', 'schedule_skipped'] as const;
export type ScheduleEventName = (typeof SCHEDULE_EVENTS)[number];

export interface ScheduleEvent {
  event: ScheduleEventName;
  scheduleId: string;
  data: Record<string, unknown>;
}

/** Notes between processes that are not job events: the scheduler reacts to them at once. */
export type ClusterSignal =
  | { kind: 'workers_changed'; workerId: string }
  | { kind: 'capacity_freed'; workerId: string }
  | { kind: 'jobs_waiting' }
  /** A queue's settings changed (DESIGN §12): the leader reloads them. */
  | { kind: 'queues_changed'; type: string }
  /**
   * A schedule was created, changed, deleted, fired or skipped a tick (DESIGN §11, §15): the leader
   * re-arms its firing timer, and the gateway relays it as `schedule_update`. Schedules are not jobs,
   * so they ride the signal channel: one publisher, one transport.
   */
  | { kind: 'schedule_update'; update: ScheduleEvent };

/**
 * The only way events leave a process: published after the commit of the change they describe,
 * in transition order. Every role subscribes (the scheduler reacts to events; the gateway relays them).
 */
export abstract class JobEventBus {
  abstract publish(events: readonly JobEvent[]): Promise<void>;
  /** Returns the unsubscribe function. Listeners get events of every process, their own included. */
  abstract subscribe(listener: (event: JobEvent) => void): () => void;
  /** Cluster signals ride the same transport on a channel of their own (the gateway relays only schedule updates). */
  abstract signal(signal: ClusterSignal): Promise<void>;
  abstract onSignal(listener: (signal: ClusterSignal) => void): () => void;
  /**
   * Called when events of other processes may have been missed: the subscription to the transport was
   * lost and is back. Those events are committed and logged (replay reads them), but a listener that
   * relays them cannot tell which. The in-process bus never misses one. Returns the unsubscribe function.
   */
  onGap(_listener: () => void): () => void {
    return () => undefined;
  }
}
