import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { Actor } from '../common/http/api-keys.js';
import { Submission } from '../common/http/http-protection.js';
import { ACTION_ROLES, RequiresRole } from '../common/http/roles.js';
import { serializeListInSlices } from '../common/time-slices.js';
import { JobLogPageResponseDto, JobLogResponseDto } from './dto/job-log-response.dto.js';
import { JobPageResponseDto, JobResponseDto, jobResponseJson } from './dto/job-response.dto.js';
import { ListJobsQueryDto, PageQueryDto } from './dto/list-jobs-query.dto.js';
import { JobBatchResponseDto, JobGraphResponseDto } from './dto/job-graph-response.dto.js';
import { SubmitBatchDto, SubmitJobDto } from './dto/submit-job.dto.js';
import { BatchSubmissionService } from './batch-submission.service.js';
import { JobsService, type JobWithEdges } from './jobs.service.js';
import { NoBody } from '../common/http/no-body.js';
import { CONFLICT } from '../common/domain/error-codes.js';

const toDto = ({ job, dependsOn, dependents }: JobWithEdges) => JobResponseDto.from(job, { dependsOn, dependents });
/** The same as `JSON.stringify(toDto(item))`, for the submit paths' answers. */
const toJson = (item: JobWithEdges) => jobResponseJson(item.job, item);
const JSON_TYPE = 'application/json; charset=utf-8';

const SUBMIT_EXAMPLES = {
  data_export: {
    summary: 'Seed example: export user 123’s records as CSV (none given here: the file has the header row, the result a note on how to give records)',
    value: { type: 'data_export', priority: 'high', payload: { user_id: 123, format: 'csv' }, resource_requirements: { cpu_units: 2, memory_mb: 512 } },
  },
  report_generation: {
    summary:
      'Seed example: a daily report (of no job here; add "depends_on": [ids returned by earlier submits] to summarise them, or see the pipeline example of POST /jobs/batch)',
    value: { type: 'report_generation', payload: { report_type: 'daily_summary', date: '2024-01-15' } },
  },
  noop: { summary: 'A no-op that waits 100 ms', value: { type: 'noop', payload: { duration_ms: 100 } } },
  delayed_email: {
    summary: 'A delayed email: sent in one hour (delay_ms)',
    value: {
      type: 'send_email',
      payload: { to: 'ada@example.com', subject: 'How is it going?', text: 'Reply to this mail.' },
      delay_ms: 3_600_000,
    },
  },
  email_at: {
    summary: 'An email at a given instant (run_at with an offset; a past instant runs at once)',
    value: {
      type: 'send_email',
      payload: { to: 'ada@example.com', subject: 'Good morning', text: 'Your day starts now.' },
      run_at: '2030-01-15T09:00:00+01:00',
    },
  },
  send_email: {
    summary: 'An email with retries',
    value: {
      type: 'send_email',
      priority: 'critical',
      payload: { to: 'ada@example.com', subject: 'Your report', text: 'It is attached.' },
      retry_config: { max_attempts: 5, backoff_multiplier: 2, initial_delay_ms: 1000, max_delay_ms: 60000 },
      timeout_seconds: 60,
      idempotency_key: 'welcome-mail-ada',
    },
  },
};

const BATCH_EXAMPLES = {
  pipeline: {
    summary: 'A pipeline: total the amounts per user (data_processing of the records given), export user 123’s totals as CSV, then a daily report of both',
    value: {
      jobs: [
        {
          ref: 'totals',
          type: 'data_processing',
          payload: {
            records: [
              { user_id: 123, amount: 30 },
              { user_id: 7, amount: 5 },
              { user_id: 123, amount: 12 },
            ],
            operations: [{ op: 'group_by', by: 'user_id', aggregates: [{ fn: 'sum', field: 'amount', as: 'total' }] }],
          },
        },
        { ref: 'export', type: 'data_export', payload: { user_id: 123, format: 'csv' }, depends_on: ['totals'] },
        { ref: 'report', type: 'report_generation', payload: { report_type: 'daily_summary', date: '2024-01-15' }, depends_on: ['totals', 'export'] },
      ],
    },
  },
  diamond: {
    summary: 'A diamond of no-ops: one job, two that wait for it, and one that waits for both',
    value: {
      jobs: [
        { ref: 'top', type: 'noop', payload: { duration_ms: 200 } },
        { ref: 'left', type: 'noop', depends_on: ['top'] },
        { ref: 'right', type: 'noop', depends_on: ['top'] },
        { ref: 'bottom', type: 'noop', depends_on: ['left', 'right'] },
      ],
    },
  },
  delayed: {
    summary: 'A report now, and its email once the report is done but not before ten seconds from now',
    value: {
      jobs: [
        { ref: 'report', type: 'report_generation', payload: { report_type: 'daily_summary', date: '2024-01-15' } },
        { ref: 'mail', type: 'send_email', payload: { to: 'ada@example.com', subject: 'Daily summary', attach_dependency_files: true }, depends_on: ['report'], delay_ms: 10_000 },
      ],
    },
  },
};

@ApiTags('jobs')
@Controller('jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly batches: BatchSubmissionService,
  ) {}

  @Post()
  @ApiEndpoint({
    summary: 'Submit a job',
    description:
      'Stores the job and returns it with every default applied. A job whose dependencies are all completed is `ready` at once; ' +
      'one with unfinished dependencies is `blocked`; one that depends on a failed or cancelled job is `cancelled` with `DEPENDENCY_FAILED`. ' +
      'With `run_at` (ISO-8601 with Z or an offset) or `delay_ms` the job waits `pending` (`waiting_reason` `SCHEDULED`) until that instant, ' +
      'then becomes `ready`; with dependencies it is `blocked` first. A past `run_at` runs as soon as possible.',
    created: JobResponseDto,
    okToo: 'A job with the same idempotency_key already exists: it is returned unchanged.',
    errors: [400, 413, 415, 422, 503],
  })
  @ApiBody({ type: SubmitJobDto, examples: SUBMIT_EXAMPLES })
  @RequiresRole(ACTION_ROLES.submit)
  @Submission()
  async submit(@Body() dto: SubmitJobDto, @Actor() actor: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { job, isNew } = await this.jobs.submit(dto, actor);
    reply.status(isNew ? 201 : 200).type(JSON_TYPE);
    // JobResponseDto, written without the generic serializer's walk.
    return toJson(job);
  }

  @Post('batch')
  @ApiEndpoint({
    summary: 'Submit several jobs at once, all or nothing',
    description:
      'Jobs may depend on each other by `ref` (and on existing jobs by id). The graph is checked first: a cycle or a ' +
      'self-dependency is a 422 naming it (`dependency cycle: a -> b -> a`), and so is a depends_on that names an unknown ' +
      'job (neither a ref of the batch nor an existing id). Nothing of a rejected batch is written. Items come back in order.',
    created: JobBatchResponseDto,
    okToo: 'Every job of the batch already existed (repeated idempotency keys).',
    errors: [
      400,
      {
        status: 409,
        text: 'A concurrent submit took an idempotency_key of the batch, or a job it reuses by its key was deleted meanwhile (CONFLICT): nothing was written, send the batch again.',
        code: CONFLICT,
        message: 'an idempotency_key of this batch was used by a concurrent submit; nothing was written, retry the batch',
      },
      413,
      415,
      422,
      503,
    ],
  })
  @ApiBody({ type: SubmitBatchDto, examples: BATCH_EXAMPLES })
  @RequiresRole(ACTION_ROLES.submit)
  @Submission()
  async submitBatch(@Body() dto: SubmitBatchDto, @Actor() actor: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { items, anyNew } = await this.batches.submit(dto, actor);
    reply.status(anyNew ? 201 : 200).type(JSON_TYPE);
    // JobBatchResponseDto, written in slices of event-loop time (up to MAX_BATCH_JOBS jobs).
    return serializeListInSlices('items', items, toJson);
  }

  @Get()
  @ApiEndpoint({ summary: 'List jobs, newest first', ok: JobPageResponseDto, errors: [400] })
  async list(@Query() query: ListJobsQueryDto): Promise<JobPageResponseDto> {
    const page = await this.jobs.list(query);
    return { items: page.items.map(toDto), next_cursor: page.nextCursor };
  }

  @Get(':id')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiEndpoint({ summary: 'Get a job, with depends_on and dependents', ok: JobResponseDto, errors: [400, 404] })
  async get(@Param('id') id: string): Promise<JobResponseDto> {
    return toDto(await this.jobs.get(id));
  }

  @Get(':id/graph')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiEndpoint({
    summary: "The job's whole connected dependency graph",
    description: 'Every job connected to this one through dependencies, in either direction, with the edges between them.',
    ok: JobGraphResponseDto,
    errors: [400, 404],
  })
  async graph(@Param('id') id: string): Promise<JobGraphResponseDto> {
    const { nodes, edges, truncated } = await this.jobs.graph(id);
    return { nodes, edges: edges.map((e) => ({ from: e.depends_on_id, to: e.job_id })), truncated };
  }

  @Patch(':id/cancel')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiEndpoint({
    summary: 'Cancel a job and everything downstream of it',
    description: 'A running job is cancelled at once: its handler’s signal aborts and its late result is discarded.',
    ok: JobResponseDto,
    errors: [400, 404, 409],
  })
  @RequiresRole(ACTION_ROLES.cancel)
  async cancel(@Param('id') id: string, @Actor() actor: string, @NoBody() _body: undefined): Promise<JobResponseDto> {
    return toDto(await this.jobs.cancel(id, actor));
  }

  @Get(':id/logs')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiEndpoint({ summary: "A job's log lines, oldest first", ok: JobLogPageResponseDto, errors: [400, 404] })
  async logs(@Param('id') id: string, @Query() query: PageQueryDto): Promise<JobLogPageResponseDto> {
    const page = await this.jobs.logs(id, query);
    return { items: page.items.map(JobLogResponseDto.from), next_cursor: page.nextCursor };
  }
}
