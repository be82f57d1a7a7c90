import { Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { DATABASE_UNAVAILABLE, METHOD_NOT_ALLOWED, NOT_FOUND } from '../common/domain/error-codes.js';
import { AppConfig } from '../config/app-config.js';
import { portUnavailable } from '../common/http/port-check.js';
import { WORKER_LEASE_VIEW, type WorkerLeaseView } from '../common/domain/worker-lease-view.js';
import { JOB_STATUSES } from '../jobs/domain/job-state.js';
import { Metrics } from '../metrics/metrics.js';
import { RedisConnections } from '../redis/redis-connections.js';
import { DependencyProbe } from './dependency-probe.js';
import { addCheck, dependenciesBody, type HealthBody } from './health.controller.js';

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
  /** The scrape under way: scrapes arriving meanwhile get its text. */
  private scraping?: Promise<string>;
  /** The worker's own checks (its /health): PostgreSQL and Redis as the API checks them, and its lease. */
  private probe?: DependencyProbe;
  private lease?: WorkerLeaseView;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly db: DataSource,
    private readonly moduleRef: ModuleRef,
    @Optional() private readonly redis?: RedisConnections,
  ) {}

  /**
   * GET /metrics needs no key and is not rate limited (Prometheus scrapes it so), so anyone can send it
   * as fast as they like: scrapes arriving while one is under way get its text, so that a flood holds
   * at most one of the pool's connections at a time. Each scrape after it reads the counts afresh (a
   * poller watching for its jobs to complete sees them at once).
   */
  scrape(): Promise<string> {
    this.scraping ??= this.render().finally(() => {
      this.scraping = undefined;
    });
    return this.scraping;
  }

  private async render(): Promise<string> {
    const byStatus = await this.jobCounts();
    for (const status of JOB_STATUSES) this.metrics.jobsByStatus.set({ status }, byStatus.get(status) ?? 0);
    return this.metrics.registry.metrics();
  }

  private async jobCounts(): Promise<Map<string, number>> {
    const rows: Array<{ status: string; count: string }> = await this.db.query(
      // The counters kept with every transition (DESIGN §12), never a count over the jobs table.
      `SELECT status::text AS status, sum(n)::text AS count FROM (
         SELECT status, count AS n FROM job_counts UNION ALL SELECT status, delta FROM job_count_deltas
       ) c GROUP BY status`,
    );
    const byStatus = new Map(rows.map((r) => [r.status, Number(r.count)]));
    return byStatus;
  }

  /**
   * The worker's GET /health: the API's checks of PostgreSQL and Redis (same shape, DESIGN §6) and the
   * worker's lease. 503 when one is down: without PostgreSQL or Redis the worker gets and records no
   * work, and with its lease lapsed it has fenced itself and runs no job until a heartbeat gets through.
   */
  health(): { status: 200 | 503; body: HealthBody & { role: 'worker' } } {
    const body = dependenciesBody(this.probe!);
    const lease = this.lease;
    const now = performance.now();
    if (lease?.isLapsed(now)) {
      const message = `no heartbeat accepted for ${Math.round(lease.silentFor(now))} ms (lease ${lease.leaseMs} ms): the worker runs no job until one gets through`;
      addCheck(body, 'lease', { status: 'down', message });
    } else {
      addCheck(body, 'lease', { status: 'up' });
    }
    return { status: body.status === 'ok' ? 200 : 503, body: { ...body, role: 'worker' } };
  }

  /** The port the worker's server listens on (undefined when it has none). */
  port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.role !== 'worker' || this.config.metricsPort === undefined) return;
    this.lease = this.moduleRef.get<WorkerLeaseView>(WORKER_LEASE_VIEW, { strict: false });
    this.probe = new DependencyProbe(this.config, this.db, this.redis);
    await this.probe.onApplicationBootstrap();
    const server = createServer((req, res) => this.handle(req, res));
    server.listen(this.config.metricsPort);
    try {
      await once(server, 'listening');
    } catch (error) {
      // Taken since main's check: one line naming METRICS_PORT, as for PORT.
      throw portUnavailable(error, this.config.metricsPort, 'METRICS_PORT');
    }
    this.server = server;
    this.logger.log(`worker metrics on :${this.port()}/metrics`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (path !== '/metrics' && path !== '/health') {
      json(404, { statusCode: 404, error: 'Not Found', code: NOT_FOUND, message: `${path} not found: this port serves GET /metrics and GET /health` });
      return;
    }
    if (req.method !== 'GET') {
      json(405, { statusCode: 405, error: 'Method Not Allowed', code: METHOD_NOT_ALLOWED, message: `${path} takes GET` }, { allow: 'GET' });
      return;
    }
    if (path === '/health') {
      const { status, body } = this.health();
      json(status, body);
      return;
    }
    this.scrape().then(
      (text) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
      (error: unknown) => {
        this.logger.warn({ err: (error as Error).message }, 'metrics scrape failed');
        json(503, { statusCode: 503, error: 'Service Unavailable', code: DATABASE_UNAVAILABLE, message: 'metrics are unavailable: the database did not answer' }, { 'retry-after': '1' });
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.probe?.onApplicationShutdown();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
