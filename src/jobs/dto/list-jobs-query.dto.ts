import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsString, IsUUID, Length, Matches, Max, Min } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { INVALID_CURSOR } from '../../common/domain/error-codes.js';
import { JOB_STATUSES, PRIORITIES, type JobStatus, type Priority } from '../domain/job-state.js';
import { toList, toListKeepingWhole } from '../../common/http/query-lists.js';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);

export class ListJobsQueryDto {
  @ApiPropertyOptional({ enum: JOB_STATUSES, isArray: true, description: 'Repeatable or comma-separated.', example: ['ready', 'running'] })
  @Omittable() @Transform(toList) @IsIn(JOB_STATUSES, { each: true, message: `each status must be one of: ${JOB_STATUSES.join(', ')}` })
  status?: JobStatus[];

  @ApiPropertyOptional({ type: 'string', isArray: true, description: 'Repeatable or comma-separated.', example: ['data_export'] })
  @Omittable() @Transform(toList) @IsString({ each: true }) @Matches(/^[a-z][a-z0-9_]{0,99}$/, { each: true, message: 'each type must be a job type name: snake_case, 1-100 characters' })
  type?: string[];

  @ApiPropertyOptional({ enum: PRIORITIES, isArray: true, description: 'Repeatable or comma-separated.', example: ['high', 'critical'] })
  @Omittable() @Transform(toList) @IsIn(PRIORITIES, { each: true, message: `each priority must be one of: ${PRIORITIES.join(', ')}` })
  priority?: Priority[];

  @ApiPropertyOptional({ type: 'string', isArray: true, description: 'Jobs of these concurrency keys. Repeatable or comma-separated; a key that contains a comma matches as sent too.', example: ['customer-42'] })
  @Omittable() @Transform(toListKeepingWhole) @IsString({ each: true }) @Length(1, 200, { each: true, message: 'each concurrency_key must be 1-200 characters' })
  concurrency_key?: string[];

  @ApiPropertyOptional({ type: 'string', format: 'uuid', isArray: true, description: 'Jobs created by these schedules (a schedule\'s history). Repeatable or comma-separated.' })
  @Omittable() @Transform(toList) @IsUUID('all', { each: true, message: 'each schedule_id must be a UUID' })
  schedule_id?: string[];

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 200, default: 50 })
  @Omittable() @Transform(toInt) @IsInt({ message: 'limit must be an integer between 1 and 200' }) @Min(1) @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `next_cursor` of the previous page.' })
  @Omittable() @IsString() @Matches(/^[A-Za-z0-9_-]{1,200}$/, { message: 'cursor is not a cursor returned by this API', context: { code: INVALID_CURSOR } })
  cursor?: string;
}

export class PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @Omittable() @Transform(toInt) @IsInt({ message: 'limit must be an integer between 1 and 1000' }) @Min(1) @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `next_cursor` of the previous page.' })
  @Omittable() @IsString() @Matches(/^[A-Za-z0-9_-]{1,200}$/, { message: 'cursor is not a cursor returned by this API', context: { code: INVALID_CURSOR } })
  cursor?: string;
}
