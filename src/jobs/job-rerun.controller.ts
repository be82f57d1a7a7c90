import { Controller, Param, Post } from '@nestjs/common';
import { ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { Actor } from '../common/http/api-keys.js';
import { ACTION_ROLES, RequiresRole } from '../common/http/roles.js';
import { JobResponseDto } from './dto/job-response.dto.js';
import { JobRerunService } from './job-rerun.service.js';
import { JobsService } from './jobs.service.js';

/** Re-runs (DESIGN §13). */
@ApiTags('jobs')
@Controller('jobs')
export class JobRerunController {
  constructor(
    private readonly jobs: JobsService,
    private readonly reruns: JobRerunService,
  ) {}

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
    errors: [400, 404, 409],
  })
  @RequiresRole(ACTION_ROLES.retry)
  async retry(@Param('id') id: string, @Actor() actor: string): Promise<JobResponseDto> {
    const { job } = await this.jobs.get(id);
    await this.reruns.retry(job.id, actor);
    const now = await this.jobs.get(job.id);
    return JobResponseDto.from(now.job, { dependsOn: now.dependsOn, dependents: now.dependents });
  }
}
