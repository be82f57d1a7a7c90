import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { Untransformed } from '../../common/http/request-validation.js';
import { PRIORITIES, type Priority } from '../domain/job-state.js';
import { delayProblem, MAX_YEARS_AHEAD, runAtProblem } from '../domain/run-at.js';
import { databaseTime } from '../../common/database-time.js';

export class ResourceRequirementsDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 1, example: 1, description: 'CPU units booked on the worker while the job runs.' })
  @Omittable() @IsInt() @Min(1)
  cpu_units?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 128, example: 128, description: 'Memory in MB booked on the worker while the job runs.' })
  @Omittable() @IsInt() @Min(1)
  memory_mb?: number;
}

export class RetryConfigDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 3, example: 3, description: 'Runs in all, the first included (MAX_RETRY_ATTEMPTS by default).' })
  @Omittable() @IsInt() @Min(1) @Max(100)
  max_attempts?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 2.0, example: 2.0, description: 'Backoff before attempt n+1 = min(initial_delay_ms * backoff_multiplier^(n-1), max_delay_ms).' })
  @Omittable() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(1) @Max(100)
  backoff_multiplier?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 1000, example: 1000 })
  @Omittable() @IsInt() @Min(0) @Max(86_400_000)
  initial_delay_ms?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 3_600_000, example: 3_600_000 })
  @Omittable() @IsInt() @Min(0) @Max(2_147_483_647)
  max_delay_ms?: number;
}

/** The fields of a job common to POST /jobs and POST /jobs/batch (DESIGN §2). Property names are the wire names. */
export class JobFieldsDto {
  @ApiProperty({ example: 'data_export', description: 'A registered job type: noop, data_fetch, data_processing, data_export, report_generation, send_email.' })
  @IsString() @Length(1, 100) @Matches(/^[a-z][a-z0-9_]*$/, { message: 'type must be snake_case (a-z, 0-9, _), starting with a letter' })
  type!: string;

  @ApiPropertyOptional({ enum: PRIORITIES, default: 'normal', example: 'high' })
  @Omittable() @IsIn(PRIORITIES, { message: `priority must be one of: ${PRIORITIES.join(', ')}` })
  priority?: Priority;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    default: {},
    example: { user_id: 123, format: 'csv' },
    description: "The job's input, validated against its type's payload schema (unknown fields are refused).",
  })
  @Omittable() @IsObject() @Untransformed()
  payload?: Record<string, unknown>;

  @ApiPropertyOptional({ type: ResourceRequirementsDto })
  @Omittable() @IsObject() @ValidateNested() @Type(() => ResourceRequirementsDto)
  resource_requirements?: ResourceRequirementsDto;

  @ApiPropertyOptional({ type: RetryConfigDto })
  @Omittable() @IsObject() @ValidateNested() @Type(() => RetryConfigDto)
  retry_config?: RetryConfigDto;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 31_536_000, default: 3600, example: 300, description: 'Run time limit in seconds (DEFAULT_JOB_TIMEOUT by default).' })
  @Omittable() @IsInt() @Min(1) @Max(31_536_000)
  timeout_seconds?: number;

  @ApiPropertyOptional({ maxLength: 255, example: 'export-user-123-2024-01-15', description: 'A repeated submit with the same key returns the first job (200 instead of 201).' })
  @Omittable() @IsString() @Length(1, 255)
  idempotency_key?: string;

  @ApiPropertyOptional({
    type: 'string',
    nullable: true,
    maxLength: 200,
    example: 'customer-42',
    description: "Groups jobs for the queue's per-key concurrency limit and for fair turns between keys (e.g. a tenant or customer id).",
  })
  // "string or null" (DESIGN §2): null is no key, as if left out.
  @IsOptional() @IsString() @Length(1, 200, { message: 'concurrency_key must be 1-200 characters' })
  concurrency_key?: string | null;
}

/** `run_at`: a zoned ISO-8601 instant at most MAX_YEARS_AHEAD years ahead (DESIGN §10). */
const IsRunAt = () =>
  ValidateBy({
    name: 'isRunAt',
    validator: {
      validate: (value: unknown) => runAtProblem(value, databaseTime.date()) === null,
      defaultMessage: (args?: ValidationArguments) => `${args?.property} ${runAtProblem(args?.value, databaseTime.date())} (got "${String(args?.value).slice(0, 100)}")`,
    },
  });

/** `delay_ms`: at most MAX_YEARS_AHEAD years, and never together with `run_at`. */
const IsDelay = () =>
  ValidateBy({
    name: 'isDelay',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        (args?.object as { run_at?: unknown }).run_at == null && (typeof value !== 'number' || delayProblem(value, databaseTime.date()) === null),
      defaultMessage: (args?: ValidationArguments) =>
        (args?.object as { run_at?: unknown }).run_at != null
          ? `${args?.property} cannot be given together with run_at: give one of them`
          : `${args?.property} ${delayProblem(args?.value as number, databaseTime.date())}`,
    },
  });

/** A job's fields with when it may start (DESIGN §10): POST /jobs and POST /jobs/batch items. */
export class TimedJobFieldsDto extends JobFieldsDto {
  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    example: '2030-01-15T09:00:00+01:00',
    description:
      `When the job may start at the earliest: ISO-8601 with Z or an offset (a time without a zone is refused). ` +
      `A past instant means as soon as possible; at most ${MAX_YEARS_AHEAD} years ahead. Not together with delay_ms.`,
  })
  // "ISO-8601 or null" (DESIGN §2): null is no delay, as if left out.
  @IsOptional() @IsString() @IsRunAt()
  run_at?: string | null;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    example: 3_600_000,
    description: `Start no earlier than this many milliseconds after the submit (run_at = now + delay_ms); at most ${MAX_YEARS_AHEAD} years. Not together with run_at.`,
  })
  @Omittable() @IsInt() @Min(0) @IsDelay()
  delay_ms?: number;
}

/** The body of POST /jobs. */
export class SubmitJobDto extends TimedJobFieldsDto {
  @ApiPropertyOptional({ type: 'string', format: 'uuid', isArray: true, default: [], description: 'Jobs that must complete first.' })
  @Omittable() @IsArray() @ArrayMaxSize(100_000) @IsUUID('all', { each: true, message: 'each value in depends_on must be a UUID' })
  depends_on?: string[];
}

/** One job of POST /jobs/batch: `depends_on` may name refs of the same batch as well as existing ids. */
export class SubmitBatchItemDto extends TimedJobFieldsDto {
  @ApiPropertyOptional({ maxLength: 200, example: 'fetch', description: 'A name other jobs of the same batch can list in depends_on (not UUID-shaped).' })
  @Omittable() @IsString() @Matches(/^[A-Za-z0-9._:-]{1,200}$/, { message: 'ref must be 1-200 characters of A-Z a-z 0-9 . _ : -' })
  ref?: string;

  @ApiPropertyOptional({ type: 'string', isArray: true, default: [], example: ['fetch'], description: 'Refs of this batch or ids of existing jobs that must complete first.' })
  @Omittable() @IsArray() @ArrayMaxSize(100_000) @IsString({ each: true }) @Length(1, 200, { each: true, message: 'each value in depends_on must be a ref or a job id' })
  depends_on?: string[];
}

/**
 * The body of POST /jobs/batch. Only the list itself is checked here: its length is compared with
 * MAX_BATCH_JOBS before any item is looked at, then the items are validated as SubmitBatchItemDto
 * in slices of event-loop time (BatchSubmissionService).
 */
export class SubmitBatchDto {
  @ApiProperty({ type: SubmitBatchItemDto, isArray: true, description: 'Jobs to submit together: all or nothing (MAX_BATCH_JOBS at most).' })
  @IsArray() @ArrayMinSize(1, { message: 'jobs must list at least one job' }) @Untransformed()
  jobs!: unknown[];
}
