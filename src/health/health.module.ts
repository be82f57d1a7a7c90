import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsExporter } from './metrics-exporter.service.js';
import { Metrics } from './metrics.js';

/** Metrics (every role; a worker serves them on METRICS_PORT) and, for roles that serve HTTP, /health and /metrics. */
@Global()
@Module({
  providers: [Metrics, MetricsExporter],
  exports: [Metrics, MetricsExporter],
})
export class MetricsModule {}

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, MetricsController],
})
export class HealthModule {}
