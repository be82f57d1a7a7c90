import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { DEFAULT_WORKER_STATUSES, ListWorkersQueryDto } from './dto/list-workers-query.dto.js';
import { WorkerListResponseDto } from './dto/worker-response.dto.js';

@ApiTags('workers')
@Controller('workers')
export class WorkersController {
  constructor(
    private readonly resources: ResourcesService,
    private readonly queue: JobQueueService,
  ) {}

  @Get()
  @ApiEndpoint({
    summary: 'Workers: capacity, what is allocated, running jobs, last heartbeat',
    description:
      'Active and draining workers by default; `?status=lost,stopped` lists those that are gone, kept for WORKER_RETENTION_SECONDS.',
    ok: WorkerListResponseDto,
    errors: [400],
  })
  async list(@Query() query: ListWorkersQueryDto): Promise<WorkerListResponseDto> {
    const statuses = query.status?.length ? [...new Set(query.status)] : DEFAULT_WORKER_STATUSES;
    const workers = await this.resources.workersIn(statuses);
    const jobs = await this.queue.allocatedOn(workers.map((w) => w.id));
    return {
      items: workers.map((w) => {
        const mine = jobs.filter((j) => j.workerId === w.id);
        return {
          id: w.id,
          host: w.host,
          pid: w.pid,
          status: w.status,
          capacity: { max_concurrent_jobs: w.maxConcurrentJobs, max_cpu_units: w.maxCpuUnits, max_memory_mb: w.maxMemoryMb },
          allocated: {
            slots: mine.length,
            cpu_units: mine.reduce((sum, j) => sum + j.cpuUnits, 0),
            memory_mb: mine.reduce((sum, j) => sum + j.memoryMb, 0),
          },
          running_jobs: mine.filter((j) => j.status === 'running').map((j) => j.id),
          placed_jobs: mine.filter((j) => j.status === 'ready').map((j) => j.id),
          started_at: w.startedAt.toISOString(),
          last_heartbeat_at: w.lastHeartbeatAt.toISOString(),
        };
      }),
    };
  }
}
