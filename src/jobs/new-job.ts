/** A job about to be inserted, and the entity it is once the database took it. */
import type { JobStatus, Priority } from './domain/job-state.js';
import { Job, type JobErrorInfo, type WaitingReason } from './entities/job.entity.js';

/** A job about to be inserted, with every default already applied. */
export interface NewJob {
  id: string;
  type: string;
  priority: Priority;
  status: JobStatus;
  payload: Record<string, unknown>;
  cpuUnits: number;
  memoryMb: number;
  maxAttempts: number;
  backoffMultiplier: number;
  initialDelayMs: number;
  maxDelayMs: number;
  timeoutSeconds: number;
  idempotencyKey: string | null;
  /** Per-key limits and fair turns (DESIGN §12). */
  concurrencyKey: string | null;
  ref: string | null;
  pendingDependencies: number;
  error: JobErrorInfo | null;
  waitingReason: WaitingReason | null;
  /** Set for jobs stored directly as cancelled. */
  completedAt: Date | null;
  /** Who submitted it (an API key's name): recorded as `actor` in its job_created log row and event. */
  actor: string | null;
  /** When it may start at the earliest (DESIGN §10), or null. */
  runAt: Date | null;
  /** Set for jobs stored as pending: when they become ready (their runAt). */
  nextRunAt: Date | null;
  /** The schedule and tick that create it (DESIGN §11); null for a submitted job. */
  scheduleId?: string | null;
  scheduledFor?: Date | null;
}

/** The entity of a job just inserted from `draft`: what the draft holds, plus the database's times. */
export function newJobRow(draft: NewJob, createdAt: Date, queuedAt: Date | null): Job {
  return Object.assign(new Job(), {
    id: draft.id,
    type: draft.type,
    priority: draft.priority,
    status: draft.status,
    payload: draft.payload,
    cpuUnits: draft.cpuUnits,
    memoryMb: draft.memoryMb,
    maxAttempts: draft.maxAttempts,
    backoffMultiplier: draft.backoffMultiplier,
    initialDelayMs: draft.initialDelayMs,
    maxDelayMs: draft.maxDelayMs,
    timeoutSeconds: draft.timeoutSeconds,
    idempotencyKey: draft.idempotencyKey,
    concurrencyKey: draft.concurrencyKey,
    ref: draft.ref,
    attempts: 0,
    attemptBase: 0,
    pendingDependencies: draft.pendingDependencies,
    result: null,
    error: draft.error,
    waitingReason: draft.waitingReason,
    workerId: null,
    allocated: false,
    placedAt: null,
    queuedAt,
    eventSeq: 1,
    createdAt,
    updatedAt: createdAt,
    startedAt: null,
    completedAt: draft.completedAt,
    nextRunAt: draft.nextRunAt,
    runAt: draft.runAt,
    scheduleId: draft.scheduleId ?? null,
    scheduledFor: draft.scheduledFor ?? null,
  } satisfies Job);
}
