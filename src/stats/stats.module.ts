import { Module } from '@nestjs/common';
import { StatsController } from './stats.controller.js';
import { ThroughputRepository } from './throughput.repository.js';

/** Read-only figures over the jobs table for dashboards (DESIGN §15): GET /stats/throughput. */
@Module({
  controllers: [StatsController],
  providers: [ThroughputRepository],
})
export class StatsModule {}
