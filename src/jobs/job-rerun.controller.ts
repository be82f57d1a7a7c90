import { Body, Controller, Delete, Param, Post } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { Actor } from '../common/http/api-keys.js';
import { ACTION_ROLES, RequiresRole } from '../common/http/roles.js';
import { BulkActionDto, BulkResultDto } from './dto/bulk-action.dto.js';
import { JobResponseDto } from './dto/job-response.dto.js';
import { JobBulkService } from './job-bulk.service.js';
import { JobDeletionService } from './job-deletion.service.js';
import { JobRerunService } from './job-rerun.service.js';
import { JobsService } from './jobs.service.js';
import { NoBody } from '../common/http/no-body.js';
import { JOB_NOT_FINISHED, JOB_NOT_RETRYABLE } from '../common/domain/error-codes.js';

/** Re-runs, bulk actions and deletes (DESIGN §13). */
@ApiTags('jobs')
@Controller('jobs')
export class JobRerunController {
  constructor(
    private readonly jobs: JobsService,
    private readonly reruns: JobRerunService,
    private readonly bulk: JobBulkService,
    private readonly deletions: JobDeletionService,
  ) {}

  @Post('bulk/cancel')
  @ApiEndpoint({
    summary: 'Cancel many jobs: by ids (at most 10,000) or by a filter',
    description:
      'Either `ids` or `filter` (`status`, `type`, `priority`: each a value or a list; `created_before`), with at least one ' +
      'criterion. Jobs are cancelled in chunks, each its own short transaction, with their downstream jobs, as PATCH ' +
      '/jobs/{id}/cancel does. `matched` = `changed` + the number skipped; `skipped` lists the first 100 with why. A chunk ' +
      'that loses deadlocks to concurrent changes three times is skipped (`CONFLICT`, counted in `conflicts`) and the rest goes on.',
    ok: BulkResultDto,
    status: 200,
    errors: [400],
  })
  @ApiBody({ type: BulkActionDto, examples: { ids: { value: { ids: ['019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e'] } }, filter: { value: { filter: { status: 'ready', type: 'noop' } } } } })
  @RequiresRole(ACTION_ROLES.bulk)
  async bulkCancel(@Body() dto: BulkActionDto, @Actor() actor: string): Promise<BulkResultDto> {
    return this.bulk.cancel(dto, actor);
  }

  @Post('bulk/retry')
  @ApiEndpoint({
    summary: 'Retry many jobs: by ids (at most 10,000) or by a filter',
    description:
      'As POST /jobs/{id}/retry for each job matched, oldest first, one transaction each. A job that a retry of this request ' +
      'already brought back (downstream of another) counts as changed. `skipped` gives the refusal of each job skipped ' +
      '(the first 100); a job whose retry loses deadlocks to concurrent changes three times is skipped (`CONFLICT`, counted in ' +
      '`conflicts`) and the rest goes on. Jobs cancelled while running whose handlers have not stopped are tried again once ' +
      'every job was, for up to 2 s in all; those still stopping then are skipped (`JOB_STILL_STOPPING`).',
    ok: BulkResultDto,
    status: 200,
    errors: [400],
  })
  @ApiBody({ type: BulkActionDto, examples: { filter: { value: { filter: { status: ['failed', 'timeout'], type: 'data_fetch' } } } } })
  @RequiresRole(ACTION_ROLES.bulk)
  async bulkRetry(@Body() dto: BulkActionDto, @Actor() actor: string): Promise<BulkResultDto> {
    return this.bulk.retry(dto, actor);
  }

  @Delete(':id')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiEndpoint({
    summary: 'Delete a finished job with its logs and edges',
    description:
      '409 `JOB_NOT_FINISHED` while the job is unfinished; `JOB_HAS_UNFINISHED_DEPENDENTS` while a job that has not completed depends on it ' +
      '(a failed, timed-out or cancelled dependent may still be retried and then needs this job: delete the dependents first); ' +
      '`JOB_STILL_STOPPING` while the handler of a job cancelled while running has not stopped 2 s after the request.',
    status: 204,
    errors: [
      400,
      404,
      {
        status: 409,
        text: 'The job is unfinished (JOB_NOT_FINISHED), a job that has not completed depends on it (JOB_HAS_UNFINISHED_DEPENDENTS), or its handler, cancelled while running, has not stopped 2 s after the request (JOB_STILL_STOPPING).',
        code: JOB_NOT_FINISHED,
        message: 'job 019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e is running: only a finished job can be deleted (cancel it first)',
      },
    ],
  })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @RequiresRole(ACTION_ROLES.delete)
  async remove(@Param('id') id: string, @NoBody() _body: undefined): Promise<void> {
    const { job } = await this.jobs.get(id);
    await this.deletions.delete(job.id);
  }

  @Post(':id/retry')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiEndpoint({
    summary: 'Run a failed, timed out or cancelled job again, and resume its DAG',
    description:
      'The job becomes `ready` (or `blocked` while a dependency is unfinished) with `retry_config.max_attempts` more runs; ' +
      '`attempts` keeps counting and its `error` is cleared (the logs keep it). Every job downstream that its end cancelled ' +
      '(`DEPENDENCY_FAILED`) comes back to `blocked`: completed jobs are not run again. 409 `JOB_NOT_RETRYABLE` for a job in ' +
      'another state; 409 `DEPENDENCY_NOT_COMPLETED` (with `dependency_id`) when one of its own dependencies ended without ' +
      'completing: retry that one first.',
    ok: JobResponseDto,
    status: 200,
    errors: [
      400,
      404,
      {
        status: 409,
        text: 'The job did not end failed, timeout or cancelled (JOB_NOT_RETRYABLE), one of its own dependencies ended without completing (DEPENDENCY_NOT_COMPLETED: retry that one first), or its handler, cancelled while running, has not stopped 2 s after the request (JOB_STILL_STOPPING).',
        code: JOB_NOT_RETRYABLE,
        message: 'job 019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e is completed: only a failed, timed out or cancelled job can be retried',
      },
    ],
  })
  @RequiresRole(ACTION_ROLES.retry)
  async retry(@Param('id') id: string, @Actor() actor: string, @NoBody() _body: undefined): Promise<JobResponseDto> {
    const { job } = await this.jobs.get(id);
    await this.reruns.retry(job.id, actor);
    const now = await this.jobs.get(job.id);
    return JobResponseDto.from(now.job, { dependsOn: now.dependsOn, dependents: now.dependents });
  }
}
