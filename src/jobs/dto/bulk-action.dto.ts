import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, IsUUID, Matches, ValidateBy, ValidateNested, type ValidationArguments } from 'class-validator';
import { parseZonedInstant } from '../domain/run-at.js';
import { Omittable } from '../../common/omittable.js';
import { CONFLICT, JOB_NOT_RETRYABLE } from '../../common/domain/error-codes.js';
import { JOB_STATUSES, PRIORITIES, type JobStatus, type Priority } from '../domain/job-state.js';

/** Most ids one bulk request names (DESIGN §13). */
export const MAX_BULK_IDS = 10_000;

/** An ISO-8601 date and time with Z or an offset, read as `run_at` is (any year PostgreSQL stores). */
const IsZonedInstant = (each = false) =>
  ValidateBy({
    name: 'isZonedInstant',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && 'at' in parseZonedInstant(value),
      defaultMessage: (args?: ValidationArguments) => {
        // A single instant is a list of one here (asList): the message names the first bad one by its value, not "each …".
        const values: unknown[] = Array.isArray(args?.value) ? args.value : [args?.value];
        const bad = values.find((v) => typeof v !== 'string' || !('at' in parseZonedInstant(v)));
        const parsed = parseZonedInstant(String(bad));
        return `${args?.property} ${'problem' in parsed ? parsed.problem : 'is not an instant'} (got "${String(bad).slice(0, 100)}")`;
      },
    },
  }, { each });

/** A value or a list of values becomes a list. */
const asList = ({ value }: { value: unknown }) => (value === undefined || value === null ? value : Array.isArray(value) ? value : [value]);

export class BulkFilterDto {
  @ApiPropertyOptional({ enum: JOB_STATUSES, isArray: true, description: 'A status or a list of them.', example: ['failed', 'timeout'] })
  @Omittable() @Transform(asList) @IsArray() @ArrayMinSize(1)
  @IsIn(JOB_STATUSES, { each: true, message: `each status must be one of: ${JOB_STATUSES.join(', ')}` })
  status?: JobStatus[];

  @ApiPropertyOptional({ type: 'string', isArray: true, description: 'A type or a list of them.', example: ['data_fetch'] })
  @Omittable() @Transform(asList) @IsArray() @ArrayMinSize(1) @IsString({ each: true })
  @Matches(/^[a-z][a-z0-9_]{0,99}$/, { each: true, message: 'each type must be a job type name: snake_case, 1-100 characters' })
  type?: string[];

  @ApiPropertyOptional({ enum: PRIORITIES, isArray: true, description: 'A priority or a list of them.', example: ['low'] })
  @Omittable() @Transform(asList) @IsArray() @ArrayMinSize(1)
  @IsIn(PRIORITIES, { each: true, message: `each priority must be one of: ${PRIORITIES.join(', ')}` })
  priority?: Priority[];

  @ApiPropertyOptional({ type: 'string', format: 'uuid', isArray: true, description: 'A schedule id or a list of them: the jobs those schedules created.' })
  @Omittable() @Transform(asList) @IsArray() @ArrayMinSize(1)
  @IsUUID('all', { each: true, message: 'each schedule_id must be a UUID' })
  schedule_id?: string[];

  @ApiPropertyOptional({
    type: 'string', format: 'date-time', isArray: true, maxItems: 100, example: '2026-01-15T00:00:00Z',
    description: 'Only jobs created before this instant (ISO-8601 with Z or an offset). A list (as every criterion may be) means before any of them: before the latest.',
  })
  @Omittable() @Transform(asList) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100)
  @IsString({ each: true }) @IsZonedInstant(true)
  created_before?: string[];
}

/** POST /jobs/bulk/cancel and /jobs/bulk/retry: either `ids` or `filter` (DESIGN §13). */
export class BulkActionDto {
  @ApiPropertyOptional({ type: 'string', format: 'uuid', isArray: true, maxItems: MAX_BULK_IDS, description: `At most ${MAX_BULK_IDS} job ids.` })
  @Omittable() @IsArray() @ArrayMinSize(1, { message: 'ids must name at least one job' })
  @ArrayMaxSize(MAX_BULK_IDS, { message: `ids may name at most ${MAX_BULK_IDS} jobs; use a filter for more` })
  @IsUUID('all', { each: true, message: 'each id must be a UUID' })
  ids?: string[];

  @ApiPropertyOptional({ type: BulkFilterDto, description: 'At least one criterion; the criteria all apply.' })
  @Omittable() @ValidateNested() @Type(() => BulkFilterDto)
  filter?: BulkFilterDto;
}

export class BulkSkippedDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'job is completed', description: 'Why the job was not changed.' })
  reason!: string;

  @ApiPropertyOptional({
    example: JOB_NOT_RETRYABLE,
    description: `Why, machine-readable. ${CONFLICT}: the change lost to concurrent changes of the same jobs every time it was run and was not made; send the request again for it.`,
  })
  code?: string;
}

export class BulkResultDto {
  @ApiProperty({ description: 'Jobs the ids or the filter named: every distinct id given (an unknown one is matched and skipped as JOB_NOT_FOUND), or every job the filter matched.' })
  matched!: number;

  @ApiProperty({ description: 'Jobs the action changed.' })
  changed!: number;

  @ApiProperty({ type: BulkSkippedDto, isArray: true, description: 'The first 100 jobs matched and not changed, with why.' })
  skipped!: BulkSkippedDto[];

  @ApiPropertyOptional({
    description:
      `Jobs skipped as ${CONFLICT} (all counted, whether listed in \`skipped\` or not); absent when there are none. Their change lost ` +
      'to concurrent changes of the same jobs (deadlocks) every time it was run, and was not made, while the rest of the action went on: ' +
      'send the same request again for them.',
    example: 500,
  })
  conflicts?: number;
}
