import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { JOB_STATUSES, PRIORITIES, type JobStatus, type Priority } from '../domain/job-state.js';

export interface JobErrorInfo {
  code: string;
  message: string;
  [extra: string]: unknown;
}

export interface WaitingReason {
  code: string;
  message: string;
  [extra: string]: unknown;
}

/** A job row. The TypeORM entity is the model, with no separate domain class; JobResponseDto.from() is the wire translation. */
// Indexes and checks are written in the migrations (partial, DESC); declared here so that
// `npm run migration:generate` knows them and proposes only real changes.
@Entity({ name: 'jobs' })
@Index('jobs_idempotency_key_key', { synchronize: false })
@Index('jobs_ready_priority_due_idx', { synchronize: false })
@Index('jobs_pending_next_run_idx', { synchronize: false })
@Index('jobs_allocated_worker_idx', { synchronize: false })
@Index('jobs_status_created_idx', { synchronize: false })
@Index('jobs_ready_key_due_idx', { synchronize: false })
@Index('jobs_ready_keyless_due_idx', { synchronize: false })
@Index('jobs_concurrency_key_created_idx', { synchronize: false })
@Index('jobs_schedule_tick_key', { synchronize: false })
@Index('jobs_finished_at_idx', { synchronize: false })
@Index('jobs_schedule_unfinished_idx', { synchronize: false })
@Index('jobs_type_started_idx', { synchronize: false })
@Index('jobs_ready_type_since_idx', { synchronize: false })
@Index('jobs_finished_type_created_idx', { synchronize: false })
@Check('jobs_cpu_units_check', '(cpu_units >= 1)')
@Check('jobs_memory_mb_check', '(memory_mb >= 1)')
@Check('jobs_max_attempts_check', '(max_attempts >= 1)')
@Check('jobs_pending_dependencies_check', '(pending_dependencies >= 0)')
export class Job {
  @PrimaryColumn({ type: 'uuid', name: 'id' })
  id!: string;

  @Column({ type: 'varchar', length: 100, name: 'type' })
  type!: string;

  @Column({ type: 'enum', enum: PRIORITIES, enumName: 'job_priority', name: 'priority', default: 'normal' })
  priority!: Priority;

  @Column({ type: 'enum', enum: JOB_STATUSES, enumName: 'job_status', name: 'status', default: 'pending' })
  status!: JobStatus;

  @Column({ type: 'jsonb', name: 'payload', default: () => "'{}'" })
  payload!: Record<string, unknown>;

  @Column({ type: 'integer', name: 'cpu_units', default: 1 })
  cpuUnits!: number;

  @Column({ type: 'integer', name: 'memory_mb', default: 128 })
  memoryMb!: number;

  @Column({ type: 'integer', name: 'max_attempts' })
  maxAttempts!: number;

  @Column({ type: 'double precision', name: 'backoff_multiplier' })
  backoffMultiplier!: number;

  @Column({ type: 'integer', name: 'initial_delay_ms' })
  initialDelayMs!: number;

  @Column({ type: 'integer', name: 'max_delay_ms' })
  maxDelayMs!: number;

  @Column({ type: 'integer', name: 'timeout_seconds' })
  timeoutSeconds!: number;

  @Column({ type: 'varchar', length: 255, name: 'idempotency_key', nullable: true })
  idempotencyKey!: string | null;

  /** The batch-local name a job was submitted under (POST /jobs/batch), for results by ref. */
  @Column({ type: 'varchar', length: 200, name: 'ref', nullable: true })
  ref!: string | null;

  /** Groups jobs for per-key limits and fair turns (DESIGN §12), e.g. a tenant id. */
  @Column({ type: 'varchar', length: 200, name: 'concurrency_key', nullable: true })
  concurrencyKey!: string | null;

  @Column({ type: 'integer', name: 'attempts', default: 0 })
  attempts!: number;

  /** Runs not counted against the budget: those before the last manual retry (DESIGN §13) and those a draining worker gave back; the retry rules count `attempts - attemptBase` against `maxAttempts`. */
  @Column({ type: 'integer', name: 'attempt_base', default: 0 })
  attemptBase!: number;

  /** Dependencies not yet completed; the job becomes ready when this reaches 0. */
  @Column({ type: 'integer', name: 'pending_dependencies', default: 0 })
  pendingDependencies!: number;

  @Column({ type: 'jsonb', name: 'result', nullable: true })
  result!: unknown;

  @Column({ type: 'jsonb', name: 'error', nullable: true })
  error!: JobErrorInfo | null;

  @Column({ type: 'jsonb', name: 'waiting_reason', nullable: true })
  waitingReason!: WaitingReason | null;

  @Column({ type: 'varchar', length: 100, name: 'worker_id', nullable: true })
  workerId!: string | null;

  /**
   * Whether the job holds its cpu units, memory and slot on `workerId` (the allocation ledger, DESIGN §4).
   * Set when placed; cleared when the job leaves running (a cancelled running job keeps it until its handler stops).
   */
  @Column({ type: 'boolean', name: 'allocated', default: false })
  allocated!: boolean;

  /** When the scheduler handed the job to its worker (ready + worker_id set = placed, resources booked). */
  @Column({ type: 'timestamptz', precision: 3, name: 'placed_at', nullable: true })
  placedAt!: Date | null;

  /** When the job last became ready (submit, dependencies done, retry due): queue wait and starvation. */
  @Column({ type: 'timestamptz', precision: 3, name: 'queued_at', nullable: true })
  queuedAt!: Date | null;

  /** Sequence number of the job's last published event (DESIGN §7 catch-up). */
  @Column({ type: 'integer', name: 'event_seq', default: 0 })
  eventSeq!: number;

  @Column({ type: 'timestamptz', precision: 3, name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', precision: 3, name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ type: 'timestamptz', precision: 3, name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column({ type: 'timestamptz', precision: 3, name: 'completed_at', nullable: true })
  completedAt!: Date | null;

  @Column({ type: 'timestamptz', precision: 3, name: 'next_run_at', nullable: true })
  nextRunAt!: Date | null;

  /** When the job may start at the earliest (DESIGN §10): set at submit from `run_at` or `delay_ms`; null = at once. */
  @Column({ type: 'timestamptz', precision: 3, name: 'run_at', nullable: true })
  runAt!: Date | null;

  /** The schedule that created the job (DESIGN §11); no foreign key: the job outlives a deleted schedule. */
  @Column({ type: 'uuid', name: 'schedule_id', nullable: true })
  scheduleId!: string | null;

  /** The tick the schedule created the job for; unique per schedule (at most one job per tick). */
  @Column({ type: 'timestamptz', precision: 3, name: 'scheduled_for', nullable: true })
  scheduledFor!: Date | null;
}
