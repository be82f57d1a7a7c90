import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { PgProxy } from '../support/pg-proxy.js';
import { startWorkerProcess, stopAllProcesses } from '../support/processes.js';
import { createTestSpace, expectEventually, startTestApp, TEST_REDIS_URL, type TestApp } from '../support/test-app.js';

/**
 * Connections that fall silent without closing (half-open: a database or Redis host gone, a NAT or a
 * firewall that forgot them). TCP notices nothing while a connection has nothing to send, so a
 * statement or a command sent on one waits for an answer that never comes, and everything behind it
 * waits too. Through a proxy, the service's connections are held (`blackhole`) for a few seconds, then
 * left silent for good while new connections pass (`silence`): the service must come back by itself.
 */

const aJob = () => ({ type: 'noop', payload: { duration_ms: 0 }, idempotency_key: randomUUID() });
const proxies: PgProxy[] = [];
const others: TestApp[] = [];
let app: TestApp | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  await Promise.all(others.splice(0).map((other) => other.close()));
  await stopAllProcesses();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

afterAll(async () => {
  await stopAllProcesses();
});

async function completes(id: string, timeoutMs: number): Promise<void> {
  await expectEventually(async () => expect((await app!.getJob(id)).status).toBe('completed'), { timeoutMs, intervalMs: 100 });
}

/** Submits until one is taken (201), then waits for that job to complete. */
async function aJobRunsAgain(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const id = await expectEventually(
    async () => {
      const response = await app!.post('/jobs', aJob());
      expect(response.status).toBe(201);
      return response.body.id as string;
    },
    { timeoutMs, intervalMs: 200 },
  );
  await completes(id, Math.max(1000, deadline - Date.now()));
}

describe('PostgreSQL connections that fall silent', () => {
  it('are closed once a statement goes unanswered past DB_QUERY_TIMEOUT_MS: placement, starts and completions go on', async () => {
    const space = await createTestSpace('silent_pg');
    const proxy = await PgProxy.start(space.databaseUrl);
    proxies.push(proxy);
    app = await startTestApp(space, { DATABASE_URL: proxy.url(space.databaseUrl), DB_QUERY_TIMEOUT_MS: '1500', DB_CONNECT_TIMEOUT_MS: '1000' });
    const before = await app.submit({ type: 'noop', payload: { duration_ms: 0 } });
    await completes(before.id, 10_000);

    // Jobs in flight when the connections go silent: their placement, start or completion waits on them.
    const inFlight: string[] = [];
    for (let i = 0; i < 10; i++) inFlight.push((await app.submit({ type: 'noop', payload: { duration_ms: 300 } })).id);
    proxy.set('blackhole');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.set('silence');

    // Every statement that waited on a silent connection failed after 1.5 s and closed it: new ones pass.
    await aJobRunsAgain(20_000);
    for (const id of inFlight) await completes(id, 20_000);
  }, 60_000);

  it('never hold a stopping process past its shutdown: SIGTERM ends it while its connections are silent', async () => {
    const space = await createTestSpace('silent_pg_stop');
    const proxy = await PgProxy.start(space.databaseUrl);
    proxies.push(proxy);
    const worker = await startWorkerProcess(space, {
      WORKER_ID: 'silent',
      DATABASE_URL: proxy.url(space.databaseUrl),
      DB_QUERY_TIMEOUT_MS: '1000',
      SHUTDOWN_GRACE_MS: '1000',
      HEARTBEAT_INTERVAL_MS: '300',
    });
    proxy.set('blackhole');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a heartbeat is out, waiting on the silence
    const stoppedAt = Date.now();
    worker.kill('SIGTERM');
    await worker.waitForExit(15_000);
    // Draining writes the worker's status and releases its jobs: each write waits at most DB_QUERY_TIMEOUT_MS.
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
  }, 60_000);
});

describe('Redis connections that fall silent', () => {
  it('are closed once a command goes unanswered past REDIS_SOCKET_TIMEOUT_MS: requests are taken again and jobs run', async () => {
    const space = await createTestSpace('silent_redis');
    const proxy = await PgProxy.start(TEST_REDIS_URL);
    proxies.push(proxy);
    // An API whose Redis goes silent, beside an `all` process (direct Redis) that runs the jobs.
    app = await startTestApp(space, { ROLE: 'api', REDIS_URL: proxy.url(TEST_REDIS_URL), REDIS_SOCKET_TIMEOUT_MS: '1500' });
    const runner = await startTestApp(space, {});
    others.push(runner);
    const before = await app.submit({ type: 'noop', payload: { duration_ms: 0 } });
    await completes(before.id, 10_000);

    proxy.set('blackhole');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.set('silence');

    // The health check's connection is replaced at its first unanswered ping, the shared one 1.5 s after
    // its first unanswered command: requests are admitted again and events flow.
    await aJobRunsAgain(20_000);
    await expectEventually(async () => expect((await app!.get('/health/ready')).status).toBe(200), { timeoutMs: 10_000 });

    // The events' subscriber sends no commands of its own: a PING every half timeout finds it silent, and
    // its replacement subscribes again, so a live client hears again the jobs another process runs (its
    // own jobs' events reach its clients without Redis).
    // It reconnects as clients do: when the replacement of the subscriber comes after it connected, the
    // gateway disconnects every client (events may have been missed), and they come back and replay.
    const socket = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const completed = new Set<string>();
      socket.on('job_update', (update: { event: string; job_id: string }) => {
        if (update.event === 'job_completed') completed.add(update.job_id);
      });
      await expectEventually(
        async () => {
          const job = await runner.submit({ type: 'noop', payload: { duration_ms: 0 } });
          await expectEventually(() => expect(completed.has(job.id)).toBe(true), { timeoutMs: 2000, intervalMs: 50 });
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    } finally {
      socket.close();
    }
  }, 60_000);
});
