import { afterEach, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { WorkerLease } from '../executor/domain/worker-lease.js';
import { Metrics } from '../metrics/metrics.js';
import { MetricsExporter } from './metrics-exporter.service.js';

/** A database stub: counts the job-count reads, answers the health probe's SELECT 1 unless `down`. */
function stubDatabase() {
  const db = {
    countReads: 0,
    down: false,
    async query(sql: string): Promise<unknown[]> {
      if (db.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      if (sql === 'SELECT 1') return [{ '?column?': 1 }];
      db.countReads++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return [{ status: 'pending', count: '3' }];
    },
  };
  return db;
}

const apiConfig = { role: 'api' };
const workerConfig = { role: 'worker', metricsPort: 0, databaseEmbedded: true, healthProbe: { intervalMs: 20, timeoutMs: 500 } };
const noModules = { get: () => undefined };

let exporter: MetricsExporter | undefined;

afterEach(async () => {
  await exporter?.onApplicationShutdown();
  exporter = undefined;
});

describe('GET /metrics', () => {
  it('reads the job counts once for 50 scrapes at once, and afresh for the scrape after them', async () => {
    const db = stubDatabase();
    exporter = new MetricsExporter(apiConfig as never, new Metrics(), db as never, noModules as never);
    const texts = await Promise.all(Array.from({ length: 50 }, () => exporter!.scrape()));
    expect(db.countReads).toBe(1);
    expect(texts.every((text) => text.includes('draconic_jobs{status="pending"} 3'))).toBe(true);
    await exporter.scrape();
    expect(db.countReads).toBe(2);
  });

  it('shares a failure with the scrapes waiting on it, and reads again at the next scrape', async () => {
    const db = stubDatabase();
    exporter = new MetricsExporter(apiConfig as never, new Metrics(), db as never, noModules as never);
    db.down = true;
    const failed = await Promise.allSettled([exporter.scrape(), exporter.scrape()]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    db.down = false;
    expect(await exporter.scrape()).toContain('draconic_jobs{status="pending"} 3');
  });
});

describe("a worker's METRICS_PORT", () => {
  async function startWorker(lease: WorkerLease, db = stubDatabase()) {
    exporter = new MetricsExporter(workerConfig as never, new Metrics(), db as never, { get: () => lease } as never);
    await exporter.onApplicationBootstrap();
    const port = exporter.port();
    const call = async (path: string, method = 'GET') => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
      return { status: response.status, body: (await response.json()) as any };
    };
    return { db, call };
  }

  it('answers /health 200 in the API shape while PostgreSQL, Redis and the lease are up', async () => {
    const { call } = await startWorker(new WorkerLease(60_000));
    const health = await call('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', error: {}, info: { database: { status: 'up' }, redis: { status: 'up' }, lease: { status: 'up' } } });
    expect(Object.keys(health.body.details).sort()).toEqual(['database', 'lease', 'redis']);
  });

  it('answers /health 503 once its lease lapsed: the worker is fenced and runs no job', async () => {
    const lease = new WorkerLease(1000);
    const { call } = await startWorker(lease);
    lease.renew(performance.now() - 5000);
    const health = await call('/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'error', error: { lease: { status: 'down', message: expect.stringMatching(/no heartbeat accepted/) } } });
  });

  it('answers /health 503 while PostgreSQL does not answer, and 200 again once it does', async () => {
    const { db, call } = await startWorker(new WorkerLease(60_000));
    db.down = true;
    for (let tries = 0; (await call('/health')).status !== 503; tries++) {
      if (tries > 200) throw new Error('/health never answered 503');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const health = await call('/health');
    expect(health.body).toMatchObject({ status: 'error', error: { database: { status: 'down', message: expect.stringMatching(/ECONNREFUSED/) } } });
    expect((await call('/metrics')).body).toMatchObject({ statusCode: 503, code: 'DATABASE_UNAVAILABLE' });
    db.down = false;
    for (let tries = 0; (await call('/health')).status !== 200; tries++) {
      if (tries > 200) throw new Error('/health never answered 200 again');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('gives its error bodies a code', async () => {
    const { call } = await startWorker(new WorkerLease(60_000));
    expect(await call('/jobs')).toEqual({ status: 404, body: expect.objectContaining({ statusCode: 404, code: 'NOT_FOUND' }) });
    expect(await call('/health', 'POST')).toEqual({ status: 405, body: expect.objectContaining({ statusCode: 405, code: 'METHOD_NOT_ALLOWED' }) });
  });
});
