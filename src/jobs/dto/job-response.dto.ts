import { ApiProperty } from '@nestjs/swagger';
import { WAITING } from '../../common/domain/waiting-reasons.js';
import { HANDLER_ERROR } from '../domain/error-codes.js';
import { JOB_STATUSES, PRIORITIES, type JobStatus, type Priority } from '../domain/job-state.js';
import type { Job } from '../entities/job.entity.js';

class ResourceRequirementsResponseDto {
  @ApiProperty({ type: 'integer', example: 1 }) cpu_units!: number;
  @ApiProperty({ type: 'integer', example: 128 }) memory_mb!: number;
}

class RetryConfigResponseDto {
  @ApiProperty({ type: 'integer', example: 3 }) max_attempts!: number;
  @ApiProperty({ example: 2.0 }) backoff_multiplier!: number;
  @ApiProperty({ type: 'integer', example: 1000 }) initial_delay_ms!: number;
  @ApiProperty({ type: 'integer', example: 3_600_000 }) max_delay_ms!: number;
}

class CodeMessageDto {
  @ApiProperty({ example: HANDLER_ERROR }) code!: string;
  @ApiProperty({ example: 'connect ECONNREFUSED 10.0.0.7:443' }) message!: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A job on the wire (DESIGN §2). `from()` is the one translation point from the entity. */
export class JobResponseDto {
  @ApiProperty({ format: 'uuid', example: '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e' }) id!: string;
  @ApiProperty({ example: 'data_export' }) type!: string;
  @ApiProperty({ enum: PRIORITIES, example: 'normal' }) priority!: Priority;
  @ApiProperty({ enum: JOB_STATUSES, example: 'ready' }) status!: JobStatus;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { user_id: 123, format: 'csv' } }) payload!: Record<string, unknown>;
  @ApiProperty({ type: ResourceRequirementsResponseDto }) resource_requirements!: ResourceRequirementsResponseDto;
  @ApiProperty({ type: RetryConfigResponseDto }) retry_config!: RetryConfigResponseDto;
  @ApiProperty({ type: 'integer', example: 3600 }) timeout_seconds!: number;
  @ApiProperty({ type: 'string', format: 'uuid', isArray: true, description: 'Jobs this job waits for.' }) depends_on!: string[];
  @ApiProperty({ type: 'string', format: 'uuid', isArray: true, description: 'Jobs that wait for this job.' }) dependents!: string[];
  @ApiProperty({ type: 'string', nullable: true, example: null }) idempotency_key!: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: null, description: 'Name given in a batch submit.' }) ref!: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'customer-42', description: 'Groups jobs for per-key limits and fair turns.' }) concurrency_key!: string | null;
  @ApiProperty({ type: 'integer', example: 0, description: 'Runs started so far.' }) attempts!: number;
  @ApiProperty({ nullable: true, example: null, description: 'What the handler returned.' }) result!: unknown;
  @ApiProperty({ type: CodeMessageDto, nullable: true, example: null, description: 'Last failure; code is HANDLER_ERROR, TIMEOUT, WORKER_LOST, DEPENDENCY_FAILED, CANCELLED_BY_USER, ...' }) error!: Record<string, unknown> | null;
  @ApiProperty({ type: 'string', nullable: true, example: null }) worker_id!: string | null;
  @ApiProperty({ type: CodeMessageDto, nullable: true, example: { code: WAITING.NO_WORKERS, message: 'no worker is registered' }, description: 'Why a waiting job is not running yet: WAITING_FOR_DEPENDENCIES, RETRY_BACKOFF, SCHEDULED (with until), QUEUE_PAUSED, CONCURRENCY_LIMIT, RATE_LIMITED, INSUFFICIENT_RESOURCES, NO_WORKERS.' }) waiting_reason!: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) started_at!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) completed_at!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When a pending job becomes ready: its run_at, or the end of its retry backoff.' }) next_run_at!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null, description: 'When the job may start at the earliest (UTC), from run_at or delay_ms at submit; null = at once.' }) run_at!: string | null;
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true, example: null, description: 'The schedule that created the job.' }) schedule_id!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null, description: 'The tick the schedule created the job for.' }) scheduled_for!: string | null;

  static from(job: Job, edges: { dependsOn: string[]; dependents: string[] }): JobResponseDto {
    return {
      id: job.id,
      type: job.type,
      priority: job.priority,
      status: job.status,
      payload: job.payload,
      resource_requirements: { cpu_units: job.cpuUnits, memory_mb: job.memoryMb },
      retry_config: {
        max_attempts: job.maxAttempts,
        backoff_multiplier: job.backoffMultiplier,
        initial_delay_ms: job.initialDelayMs,
        max_delay_ms: job.maxDelayMs,
      },
      timeout_seconds: job.timeoutSeconds,
      depends_on: edges.dependsOn,
      dependents: edges.dependents,
      idempotency_key: job.idempotencyKey,
      ref: job.ref,
      concurrency_key: job.concurrencyKey ?? null,
      attempts: job.attempts,
      result: job.result ?? null,
      error: job.error,
      worker_id: job.workerId,
      waiting_reason: job.waitingReason,
      created_at: job.createdAt.toISOString(),
      updated_at: job.updatedAt.toISOString(),
      started_at: iso(job.startedAt),
      completed_at: iso(job.completedAt),
      next_run_at: iso(job.nextRunAt),
      run_at: iso(job.runAt ?? null),
      schedule_id: job.scheduleId ?? null,
      scheduled_for: iso(job.scheduledFor ?? null),
    };
  }
}

const str = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));
const num = (value: number) => (Number.isFinite(value) ? String(value) : 'null');
const isoJson = (d: Date | null) => (d ? `"${d.toISOString()}"` : 'null');
const anyJson = (value: unknown) => JSON.stringify(value ?? null);

/**
 * `JSON.stringify(JobResponseDto.from(job, edges))`, written straight from the entity: the same text,
 * field for field, without the intermediate object and its two nested ones (a batch answers with up to
 * MAX_BATCH_JOBS jobs, and their garbage and the generic serializer's walk were a tenth of its time).
 * The job's id and the edges are UUIDs from the database: nothing in them needs escaping.
 */
export function jobResponseJson(job: Job, edges: { dependsOn: readonly string[]; dependents: readonly string[] }): string {
  const ids = (list: readonly string[]) => (list.length === 0 ? '[]' : `["${list.join('","')}"]`);
  return (
    `{"id":"${job.id}","type":${str(job.type)},"priority":"${job.priority}","status":"${job.status}","payload":${anyJson(job.payload)}` +
    `,"resource_requirements":{"cpu_units":${num(job.cpuUnits)},"memory_mb":${num(job.memoryMb)}}` +
    `,"retry_config":{"max_attempts":${num(job.maxAttempts)},"backoff_multiplier":${num(job.backoffMultiplier)}` +
    `,"initial_delay_ms":${num(job.initialDelayMs)},"max_delay_ms":${num(job.maxDelayMs)}}` +
    `,"timeout_seconds":${num(job.timeoutSeconds)},"depends_on":${ids(edges.dependsOn)},"dependents":${ids(edges.dependents)}` +
    `,"idempotency_key":${str(job.idempotencyKey)},"ref":${str(job.ref)},"concurrency_key":${str(job.concurrencyKey ?? null)}` +
    `,"attempts":${num(job.attempts)},"result":${anyJson(job.result)},"error":${anyJson(job.error)},"worker_id":${str(job.workerId)}` +
    `,"waiting_reason":${anyJson(job.waitingReason)},"created_at":${isoJson(job.createdAt)},"updated_at":${isoJson(job.updatedAt)}` +
    `,"started_at":${isoJson(job.startedAt)},"completed_at":${isoJson(job.completedAt)},"next_run_at":${isoJson(job.nextRunAt)}` +
    `,"run_at":${isoJson(job.runAt ?? null)},"schedule_id":${str(job.scheduleId ?? null)},"scheduled_for":${isoJson(job.scheduledFor ?? null)}}`
  );
}

export class JobPageResponseDto {
  @ApiProperty({ type: JobResponseDto, isArray: true }) items!: JobResponseDto[];
  @ApiProperty({ type: 'string', nullable: true, description: 'Pass as `cursor` for the next page; null on the last page.' })
  next_cursor!: string | null;
}
