import type { JobStatus, Priority } from './domain/job-state.js';
import { Job } from './entities/job.entity.js';

/** Columns of `jobs` in SELECT/RETURNING lists of the hand-written SQL. */
export const JOB_COLUMNS = `id, type, priority, status, payload, cpu_units, memory_mb, max_attempts, backoff_multiplier,
  initial_delay_ms, max_delay_ms, timeout_seconds, idempotency_key, ref, attempts, attempt_base, pending_dependencies, result, error,
  waiting_reason, worker_id, allocated, placed_at, queued_at, event_seq, created_at, updated_at, started_at, completed_at, next_run_at,
  concurrency_key, run_at, schedule_id, scheduled_for`;

export type JobRow = Record<string, unknown>;

/** What running a job needs of it (the executor, its retry policy, the scheduler's ledger, the queue-wait metric). */
export type RunnableJob = Pick<
  Job,
  | 'id' | 'type' | 'priority' | 'status' | 'payload' | 'cpuUnits' | 'memoryMb' | 'maxAttempts' | 'backoffMultiplier'
  | 'initialDelayMs' | 'maxDelayMs' | 'timeoutSeconds' | 'attempts' | 'attemptBase' | 'workerId' | 'queuedAt' | 'startedAt'
>;

/** A job its start statement moved to running, as it is handed to its worker's executor. */
export interface StartedJob {
  job: RunnableJob;
  hasDependencies: boolean;
}

/** A dependency's outcome as the dependent job's handler sees it (DESIGN §5). */
export interface DependencyResult {
  id: string;
  ref: string | null;
  type: string;
  result: unknown;
}

/** The columns of `RunnableJob`: what a start returns (half of a row's columns, two of its seven timestamps). */
export const RUNNABLE_JOB_COLUMNS = `id, type, priority, status, payload, cpu_units, memory_mb, max_attempts, backoff_multiplier,
  initial_delay_ms, max_delay_ms, timeout_seconds, attempts, attempt_base, worker_id, queued_at, started_at`;

export function rowToRunnableJob(row: JobRow): RunnableJob {
  return {
    id: row.id as string,
    type: row.type as string,
    priority: row.priority as Priority,
    status: row.status as JobStatus,
    payload: row.payload as Record<string, unknown>,
    cpuUnits: row.cpu_units as number,
    memoryMb: row.memory_mb as number,
    maxAttempts: row.max_attempts as number,
    backoffMultiplier: Number(row.backoff_multiplier),
    initialDelayMs: row.initial_delay_ms as number,
    maxDelayMs: row.max_delay_ms as number,
    timeoutSeconds: row.timeout_seconds as number,
    attempts: row.attempts as number,
    attemptBase: (row.attempt_base as number | undefined) ?? 0,
    workerId: (row.worker_id as string | null) ?? null,
    queuedAt: (row.queued_at as Date | null) ?? null,
    startedAt: (row.started_at as Date | null) ?? null,
  };
}

/** Maps a raw `jobs` row (snake_case, as pg returns it) to the entity. */
export function rowToJob(row: JobRow): Job {
  const job = Object.assign(new Job(), rowToRunnableJob(row));
  job.idempotencyKey = (row.idempotency_key as string | null) ?? null;
  job.ref = (row.ref as string | null) ?? null;
  job.concurrencyKey = (row.concurrency_key as string | null) ?? null;
  job.pendingDependencies = row.pending_dependencies as number;
  job.result = row.result ?? null;
  job.error = (row.error as Job['error']) ?? null;
  job.waitingReason = (row.waiting_reason as Job['waitingReason']) ?? null;
  job.allocated = row.allocated as boolean;
  job.placedAt = (row.placed_at as Date | null) ?? null;
  job.eventSeq = row.event_seq as number;
  job.createdAt = row.created_at as Date;
  job.updatedAt = row.updated_at as Date;
  job.completedAt = (row.completed_at as Date | null) ?? null;
  job.nextRunAt = (row.next_run_at as Date | null) ?? null;
  job.runAt = (row.run_at as Date | null) ?? null;
  job.scheduleId = (row.schedule_id as string | null) ?? null;
  job.scheduledFor = (row.scheduled_for as Date | null) ?? null;
  return job;
}
