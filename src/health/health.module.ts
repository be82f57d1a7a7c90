import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { DependencyGate } from './dependency-gate.interceptor.js';
import { DependencyProbe } from './dependency-probe.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsExporter } from './metrics-exporter.service.js';
import { Metrics } from '../metrics/metrics.js';

/** Metrics (every role; a worker serves them on METRICS_PORT) and, for roles that serve HTTP, /health and /metrics. */
@Global()
@Module({
  providers: [Metrics, MetricsExporter],
  exports: [Metrics, MetricsExporter],
})
export class MetricsModule {}

/** /health, /health/live, /health/ready and /metrics, and the admission of requests by the dependencies' state. */
@Module({
  providers: [DependencyProbe, { provide: APP_INTERCEPTOR, useClass: DependencyGate }],
  controllers: [HealthController, MetricsController],
})
export class HealthModule {}
