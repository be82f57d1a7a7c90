import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { JOB_STATUSES } from '../jobs/domain/job-state.js';
import { Metrics } from '../metrics/metrics.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The Prometheus text of this process's metrics (the jobs-by-status gauge read from the counters at
 * each scrape). Served by GET /metrics in the api and all roles; a worker (ROLE=worker), which has
 * no HTTP API, serves GET /metrics and GET /health on METRICS_PORT when that is set, because its run
 * durations, queue waits and transitions are counted in its own process.
 */
@Injectable()
export class MetricsExporter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsExporter.name);
  private server?: Server;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly db: DataSource,
  ) {}

  async scrape(): Promise<string> {
    const rows: Array<{ status: string; count: string }> = await this.db.query(
      // The counters kept with every transition (DESIGN §12), never a count over the jobs table.
      `SELECT status::text AS status, sum(n)::text AS count FROM (
         SELECT status, count AS n FROM job_counts UNION ALL SELECT status, delta FROM job_count_deltas
       ) c GROUP BY status`,
    );
    const counts = new Map(rows.map((r) => [r.status, Number(r.count)]));
    for (const status of JOB_STATUSES) this.metrics.jobsByStatus.set({ status }, counts.get(status) ?? 0);
    return this.metrics.registry.metrics();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.role !== 'worker' || this.config.metricsPort === undefined) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/health')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'GET /metrics or GET /health' }));
        return;
      }
      if (path === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', role: 'worker' }));
        return;
      }
      this.scrape().then(
        (text) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
        (error: unknown) => {
          this.logger.warn({ err: (error as Error).message }, 'metrics scrape failed');
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'metrics are unavailable: the database did not answer' }));
        },
      );
    });
    server.listen(this.config.metricsPort);
    await once(server, 'listening');
    this.server = server;
    this.logger.log(`worker metrics on :${this.config.metricsPort}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
