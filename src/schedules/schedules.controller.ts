import { Body, Controller, Delete, Get, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBody, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiEndpoint, type RouteError } from '../common/http/api-endpoint.decorator.js';
import { SCHEDULE_NAME_TAKEN, SCHEDULE_NOT_FOUND, TICK_TAKEN } from '../common/domain/error-codes.js';
import { ApiNoContentResponse } from '@nestjs/swagger';
import { ACTION_ROLES, RequiresRole } from '../common/http/roles.js';
import { JobResponseDto } from '../jobs/dto/job-response.dto.js';
import { CreateScheduleDto, GetScheduleQueryDto, ListSchedulesQueryDto, ReplaceScheduleDto, UpdateScheduleDto } from './dto/schedule.dto.js';
import { SchedulePageResponseDto, ScheduleResponseDto } from './dto/schedule-response.dto.js';
import { SchedulesService } from './schedules.service.js';
import { NoBody } from '../common/http/no-body.js';
import { Actor } from '../common/http/api-keys.js';

const DAILY_REPORT = {
  name: 'daily-report',
  cron: '0 9 * * *',
  timezone: 'Europe/Berlin',
  job: { type: 'report_generation', payload: { report_type: 'daily_summary' } },
};
const EVERY_10_SECONDS = {
  name: 'heartbeat-every-10s',
  cron: '*/10 * * * * *',
  job: { type: 'noop', payload: { duration_ms: 100 } },
  overlap_policy: 'skip',
  catch_up: 'none',
};

const CREATE_EXAMPLES = {
  dailyReport: { summary: 'A daily report at 09:00 Berlin time (follows DST)', value: DAILY_REPORT },
  every10s: { summary: 'A job every 10 seconds (6 fields: seconds first)', value: EVERY_10_SECONDS },
};
const REPLACE_EXAMPLES = {
  dailyReport: {
    summary: 'Declare the daily report (path name: daily-report); omitted fields get their defaults',
    value: { cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', job: DAILY_REPORT.job, catch_up: 'latest' },
  },
};
const UPDATE_EXAMPLES = {
  pause: { summary: 'Pause (ticks are dropped, never caught up)', value: { paused: true } },
  resume: { summary: 'Resume', value: { paused: false } },
  cron: { summary: 'Fire at 07:30 instead', value: { cron: '30 7 * * *' } },
  window: { summary: 'Only during 2027', value: { start_at: '2027-01-01T00:00:00Z', end_at: '2027-12-31T23:59:59Z' } },
};

const NOT_FOUND: RouteError = {
  status: 404,
  text: 'No schedule with this id or name (SCHEDULE_NOT_FOUND).',
  code: SCHEDULE_NOT_FOUND,
  message: 'schedule daily-report not found (give its id or its name)',
};
const NAME_TAKEN: RouteError = {
  status: 409,
  text: 'Another schedule has this name (SCHEDULE_NAME_TAKEN): choose another, or PUT /schedules/{name} to replace it.',
  code: SCHEDULE_NAME_TAKEN,
  message: 'a schedule named "daily-report" already exists: choose another name, or use PUT /schedules/daily-report to replace it',
};
const TICK_TAKEN_ERROR: RouteError = {
  status: 409,
  text: 'Another trigger of the same schedule took this instant first (TICK_TAKEN): trigger again.',
  code: TICK_TAKEN,
  message: 'schedule "daily-report" already has a job for 2026-12-07T09:00:00.000Z; trigger again',
};

const KEY_PARAM = { name: 'key', description: 'The schedule id or its name.', example: 'daily-report' };

@ApiTags('schedules')
@Controller('schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Post()
  @ApiEndpoint({
    summary: 'Create a recurring schedule',
    description:
      'Creates a job from `job` (validated exactly as POST /jobs validates a job) on every tick of `cron` in `timezone`. ' +
      'A bad cron, zone or template is a 400 naming the field; a taken name is a 409. Nothing is stored for a rejected request.',
    created: ScheduleResponseDto,
    errors: [400, NAME_TAKEN, 415],
  })
  @ApiBody({ type: CreateScheduleDto, examples: CREATE_EXAMPLES })
  @RequiresRole(ACTION_ROLES.schedules)
  async create(@Body() dto: CreateScheduleDto): Promise<ScheduleResponseDto> {
    return ScheduleResponseDto.from(await this.schedules.create(dto));
  }

  @Get()
  @ApiEndpoint({ summary: 'List schedules, ordered by name', ok: SchedulePageResponseDto, errors: [400] })
  async list(@Query() query: ListSchedulesQueryDto): Promise<SchedulePageResponseDto> {
    const page = await this.schedules.list(query.limit, query.cursor);
    return { items: page.items.map((s) => ScheduleResponseDto.from(s)), next_cursor: page.nextCursor };
  }

  @Get(':key')
  @ApiParam(KEY_PARAM)
  @ApiEndpoint({ summary: 'Get a schedule; ?preview=N adds its next N fire instants', ok: ScheduleResponseDto, errors: [400, NOT_FOUND] })
  async get(@Param('key') key: string, @Query() query: GetScheduleQueryDto): Promise<ScheduleResponseDto> {
    const schedule = await this.schedules.get(key);
    return ScheduleResponseDto.from(schedule, query.preview ? this.schedules.upcoming(schedule, query.preview) : undefined);
  }

  @Put(':name')
  @ApiParam({ name: 'name', example: 'daily-report' })
  @ApiEndpoint({
    summary: 'Create or replace a schedule by name (for deploy scripts)',
    description:
      'Every writable field is set from the body; an omitted one gets its default (not its old value). The id, counters and ' +
      'history stay. A change of cron, zone or bounds recomputes next_fire_at; a changed template applies from the next tick.',
    created: ScheduleResponseDto,
    okToo: 'The schedule existed and was replaced.',
    errors: [400, 415],
  })
  @ApiBody({ type: ReplaceScheduleDto, examples: REPLACE_EXAMPLES })
  @RequiresRole(ACTION_ROLES.schedules)
  async replace(@Param('name') name: string, @Body() dto: ReplaceScheduleDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ScheduleResponseDto> {
    const { schedule, created } = await this.schedules.replace(name, dto);
    reply.status(created ? 201 : 200);
    return ScheduleResponseDto.from(schedule);
  }

  @Patch(':key')
  @ApiParam(KEY_PARAM)
  @ApiEndpoint({ summary: 'Change some fields of a schedule', ok: ScheduleResponseDto, errors: [400, NOT_FOUND, NAME_TAKEN, 415] })
  @ApiBody({ type: UpdateScheduleDto, examples: UPDATE_EXAMPLES })
  @RequiresRole(ACTION_ROLES.schedules)
  async update(@Param('key') key: string, @Body() dto: UpdateScheduleDto): Promise<ScheduleResponseDto> {
    return ScheduleResponseDto.from(await this.schedules.update(key, dto));
  }

  @Delete(':key')
  @ApiParam(KEY_PARAM)
  @ApiEndpoint({ summary: 'Delete a schedule (the jobs it created stay)', status: 204, errors: [400, NOT_FOUND] })
  @ApiNoContentResponse({ description: 'Deleted, with its runs record; the jobs it created stay.' })
  @RequiresRole(ACTION_ROLES.schedules)
  async delete(@Param('key') key: string, @NoBody() _body: undefined): Promise<void> {
    await this.schedules.delete(key);
  }

  @Post(':key/trigger')
  @ApiParam(KEY_PARAM)
  @ApiEndpoint({
    summary: 'Create one job now, outside the cron',
    description: '`scheduled_for` is now. It ignores `paused` and `overlap_policy`, and counts in fire_count. While its job is unfinished, the overlap_policy of later ticks counts it as a previous run.',
    created: JobResponseDto,
    errors: [400, NOT_FOUND, TICK_TAKEN_ERROR],
  })
  @RequiresRole(ACTION_ROLES.trigger)
  async trigger(@Param('key') key: string, @Actor() actor: string, @NoBody() _body: undefined): Promise<JobResponseDto> {
    return JobResponseDto.from(await this.schedules.trigger(key, actor), { dependsOn: [], dependents: [] });
  }
}
