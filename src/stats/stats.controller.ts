import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { ThroughputQueryDto, ThroughputResponseDto } from './dto/throughput.dto.js';
import { ThroughputRepository } from './throughput.repository.js';

@ApiTags('stats')
@Controller('stats')
export class StatsController {
  constructor(private readonly counts: ThroughputRepository) {}

  @Get('throughput')
  @ApiEndpoint({
    summary: 'Jobs finished per bucket over the last minutes (completed; failed or timed out)',
    description:
      'Counted from each job\'s `completed_at`, by the database\'s clock: `?minutes=15&step_seconds=10` gives 90 buckets of 10 s. Only the buckets in which a job finished are listed; the bucket still counting is left out. Cancelled jobs and retries are not counted.',
    ok: ThroughputResponseDto,
    errors: [400],
  })
  async throughput(@Query() query: ThroughputQueryDto): Promise<ThroughputResponseDto> {
    const step = query.step_seconds ?? 1;
    const window = await this.counts.window((query.minutes ?? 5) * 60, step);
    return {
      step_seconds: step,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      now: window.now.toISOString(),
      items: window.buckets.map((b) => ({ at: b.at.toISOString(), completed: b.completed, failed: b.failed })),
    };
  }
}
