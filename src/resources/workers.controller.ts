import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { usageOf } from './domain/allocation-ledger.js';
import { DEFAULT_WORKER_STATUSES, ListWorkersQueryDto } from './dto/list-workers-query.dto.js';
import { WorkerListResponseDto } from './dto/worker-response.dto.js';
import { PlacementsService } from './placements.service.js';
import { ResourcesService } from './resources.service.js';

@ApiTags('workers')
@Controller('workers')
export class WorkersController {
  constructor(
    private readonly resources: ResourcesService,
    private readonly placements: PlacementsService,
  ) {}

  /**
   * `allocated` is the allocation ledger's sum (usageOf) over the jobs holding resources in the
   * jobs table, read in the same statement as `running_jobs`, `placed_jobs` and `stopping_jobs`. Not the leader's
   * in-memory copy of the ledger: that copy exists only in the process that leads (an API instance
   * that does not lead, or an api process beside an elected one, has none), it follows the table
   * an event late and is only rebuilt when stale, and the lists of jobs come from the table anyway.
   * Read from the table, the answer is the same whichever instance gives it, and its sums always
   * agree with its lists (DESIGN §4: the ledger equals the jobs placed and not finished).
   */
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
    const jobs = await this.placements.allocatedOn(workers.map((w) => w.id));
    const usage = usageOf(jobs);
    return {
      items: workers.map((w) => {
        const mine = jobs.filter((j) => j.workerId === w.id);
        const used = usage.get(w.id);
        return {
          id: w.id,
          host: w.host,
          pid: w.pid,
          status: w.status,
          capacity: { max_concurrent_jobs: w.maxConcurrentJobs, max_cpu_units: w.maxCpuUnits, max_memory_mb: w.maxMemoryMb },
          allocated: { slots: used?.slots ?? 0, cpu_units: used?.cpuUnits ?? 0, memory_mb: used?.memoryMb ?? 0 },
          running_jobs: mine.filter((j) => j.status === 'running').map((j) => j.id),
          placed_jobs: mine.filter((j) => j.status === 'ready').map((j) => j.id),
          stopping_jobs: mine.filter((j) => j.status !== 'running' && j.status !== 'ready').map((j) => j.id),
          started_at: w.startedAt.toISOString(),
          last_heartbeat_at: w.lastHeartbeatAt.toISOString(),
        };
      }),
    };
  }
}
