import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { JOB_STATUSES } from '../jobs/domain/job-state.js';
import { Metrics } from './metrics.js';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly db: DataSource,
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus metrics (text format)' })
  async scrape(): Promise<string> {
    await this.sampleJobsByStatus();
    return this.metrics.registry.metrics();
  }

  private async sampleJobsByStatus(): Promise<void> {
    const rows: Array<{ status: string; count: string }> = await this.db.query(
      `SELECT status::text AS status, count(*)::text AS count FROM jobs GROUP BY status`,
    );
    const counts = new Map(rows.map((r) => [r.status, Number(r.count)]));
    for (const status of JOB_STATUSES) this.metrics.jobsByStatus.set({ status }, counts.get(status) ?? 0);
  }
}
