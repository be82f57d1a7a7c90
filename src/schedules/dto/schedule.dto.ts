import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { INVALID_CURSOR } from '../../common/domain/error-codes.js';
import { Untransformed } from '../../common/http/request-validation.js';
import { JobFieldsDto } from '../../jobs/dto/submit-job.dto.js';
import { CATCH_UP_MODES, OVERLAP_POLICIES, type CatchUpMode, type OverlapPolicy } from '../domain/schedule-policies.js';

/**
 * 1-200 characters of A-Z a-z 0-9 . _ : - (DESIGN §11), not dots only: `/schedules/.` and `/schedules/..`
 * are rewritten by every URL parser (browsers, fetch, curl) to `/schedules/` and `/`, so such a name
 * could never be reached by name.
 */
export const SCHEDULE_NAME = /^(?!\.+$)[A-Za-z0-9._:-]{1,200}$/;
export const NAME_RULE = '1-200 characters of A-Z a-z 0-9 . _ : -, not dots only';
const NAME_MESSAGE = `name must be ${NAME_RULE}`;
/** An ISO-8601 instant with `Z` or an offset: a time without a zone means nothing to a server. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const instantMessage = (field: string) => `${field} must be an ISO-8601 date-time with Z or an offset, e.g. 2026-01-15T09:00:00Z`;

/**
 * The job a schedule makes on every tick: the fields of POST /jobs (DESIGN §11), validated by the
 * same code as a submitted job. `idempotency_key` is refused: every tick makes a new job.
 */
export class ScheduleJobTemplateDto extends JobFieldsDto {}

/** The writable fields of a schedule, as POST /schedules takes them (name included). */
export class CreateScheduleDto {
  @ApiProperty({ example: 'daily-report', description: `Unique; ${NAME_RULE}` })
  @IsString() @Matches(SCHEDULE_NAME, { message: NAME_MESSAGE })
  name!: string;

  @ApiProperty({
    example: '0 9 * * *',
    description: 'Cron: 5 fields (minute hour day-of-month month day-of-week), 6 fields (seconds first), or @yearly, @monthly, @weekly, @daily, @hourly.',
  })
  @IsString() @Length(1, 200, { message: 'cron must be 1-200 characters' })
  cron!: string;

  @ApiPropertyOptional({ example: 'Europe/Berlin', default: 'UTC', description: 'IANA time zone whose wall clock the cron follows, across DST changes.' })
  @Omittable() @IsString() @Length(1, 100, { message: 'timezone must be an IANA time zone name' })
  timezone?: string;

  @ApiProperty({ type: ScheduleJobTemplateDto, description: 'The job each tick creates: validated exactly as POST /jobs validates a job.' })
  @IsObject({ message: 'job must be an object: the job template (type, payload, ...)' }) @Untransformed()
  job!: Record<string, unknown>;

  @ApiPropertyOptional({ enum: OVERLAP_POLICIES, default: 'skip', description: "A tick while a job of the schedule (a tick's or a trigger's) is unfinished: skip it, allow it, or cancel_previous (every unfinished one, SUPERSEDED_BY_SCHEDULE)." })
  @Omittable() @IsIn(OVERLAP_POLICIES, { message: `overlap_policy must be one of: ${OVERLAP_POLICIES.join(', ')}` })
  overlap_policy?: OverlapPolicy;

  @ApiPropertyOptional({ enum: CATCH_UP_MODES, default: 'latest', description: 'Ticks missed while no scheduler ran: none (dropped), latest (the most recent fires once), all (each fires, at most 100).' })
  @Omittable() @IsIn(CATCH_UP_MODES, { message: `catch_up must be one of: ${CATCH_UP_MODES.join(', ')}` })
  catch_up?: CatchUpMode;

  @ApiPropertyOptional({ default: false, description: 'Ticks while paused are dropped (counted in skip_count), never caught up; each tick is judged paused or not at its own instant.' })
  @Omittable() @IsBoolean({ message: 'paused must be true or false' })
  paused?: boolean;

  @ApiPropertyOptional({ type: 'string', format: 'date-time', nullable: true, example: null, description: 'No tick before this instant (inclusive).' })
  @IsOptional() @IsString() @Matches(INSTANT, { message: instantMessage('start_at') })
  start_at?: string | null;

  @ApiPropertyOptional({ type: 'string', format: 'date-time', nullable: true, example: null, description: 'No tick after this instant (inclusive).' })
  @IsOptional() @IsString() @Matches(INSTANT, { message: instantMessage('end_at') })
  end_at?: string | null;
}

/** PUT /schedules/{name}: every field of the schedule; `name`, if given, must be the one in the path. */
export class ReplaceScheduleDto extends CreateScheduleDto {
  @ApiPropertyOptional({ example: 'daily-report', description: 'Optional; if given, must equal the name in the path.' })
  @Omittable() @IsString() @Matches(SCHEDULE_NAME, { message: NAME_MESSAGE })
  declare name: string;
}

/** PATCH /schedules/{id or name}: any writable field; the others keep their values. */
export class UpdateScheduleDto {
  @ApiPropertyOptional({ example: 'daily-report' })
  @Omittable() @IsString() @Matches(SCHEDULE_NAME, { message: NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ example: '*/10 * * * * *' })
  @Omittable() @IsString() @Length(1, 200, { message: 'cron must be 1-200 characters' })
  cron?: string;

  @ApiPropertyOptional({ example: 'UTC' })
  @Omittable() @IsString() @Length(1, 100, { message: 'timezone must be an IANA time zone name' })
  timezone?: string;

  @ApiPropertyOptional({ type: ScheduleJobTemplateDto, description: 'A whole new template (it replaces the old one); applies from the next tick.' })
  @Omittable() @IsObject({ message: 'job must be an object: the job template (type, payload, ...)' }) @Untransformed()
  job?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: OVERLAP_POLICIES })
  @Omittable() @IsIn(OVERLAP_POLICIES, { message: `overlap_policy must be one of: ${OVERLAP_POLICIES.join(', ')}` })
  overlap_policy?: OverlapPolicy;

  @ApiPropertyOptional({ enum: CATCH_UP_MODES })
  @Omittable() @IsIn(CATCH_UP_MODES, { message: `catch_up must be one of: ${CATCH_UP_MODES.join(', ')}` })
  catch_up?: CatchUpMode;

  @ApiPropertyOptional({ example: true })
  @Omittable() @IsBoolean({ message: 'paused must be true or false' })
  paused?: boolean;

  @ApiPropertyOptional({ type: 'string', format: 'date-time', nullable: true, description: 'null removes the bound.' })
  @IsOptional() @IsString() @Matches(INSTANT, { message: instantMessage('start_at') })
  start_at?: string | null;

  @ApiPropertyOptional({ type: 'string', format: 'date-time', nullable: true, description: 'null removes the bound.' })
  @IsOptional() @IsString() @Matches(INSTANT, { message: instantMessage('end_at') })
  end_at?: string | null;
}

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);

export class GetScheduleQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 50, example: 5, description: 'Adds `upcoming`: the next N fire instants.' })
  @Omittable() @Transform(toInt) @IsInt({ message: 'preview must be an integer between 1 and 50' }) @Min(1, { message: 'preview must be an integer between 1 and 50' }) @Max(50, { message: 'preview must be an integer between 1 and 50' })
  preview?: number;
}

export class ListSchedulesQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 200, default: 50 })
  @Omittable() @Transform(toInt) @IsInt({ message: 'limit must be an integer between 1 and 200' }) @Min(1) @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `next_cursor` of the previous page.' })
  @Omittable() @IsString() @Matches(/^[A-Za-z0-9_-]{1,400}$/, { message: 'cursor is not a cursor returned by this API', context: { code: INVALID_CURSOR } })
  cursor?: string;
}
