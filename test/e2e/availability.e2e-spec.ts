import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PgProxy } from '../support/pg-proxy.js';
import { createTestSpace, expectEventually, startTestApp, TEST_REDIS_URL, type JsonResponse, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * PostgreSQL or Redis unavailable: a request gets 503 with Retry-After within about a second (never a
 * hang, never a 500, never a 201 for a job that was not stored), and the service recovers by itself.
 * The app's connections go through TCP proxies the test cuts: `reset` (connections closed, new ones
 * refused) and `blackhole` (a network split: nothing answers).
 */

let space: TestSpace;
let pgProxy: PgProxy;
let redisProxy: PgProxy;
let app: TestApp;

/** The connection timeout the service runs with here: an answer that took this long waited for a connection. */
const CONNECT_TIMEOUT_MS = 1000;
const aJob = (key = randomUUID()) => ({ type: 'noop', payload: { duration_ms: 0 }, idempotency_key: key });

async function timed<T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const startedAt = performance.now();
  const result = await call();
  return { result, ms: performance.now() - startedAt };
}

function expectUnavailable(response: JsonResponse, code: 'DATABASE_UNAVAILABLE' | 'REDIS_UNAVAILABLE'): void {
  expect(response.status).toBe(503);
  expect(response.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', code });
  expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

beforeAll(async () => {
  space = await createTestSpace('availability');
  pgProxy = await PgProxy.start(space.databaseUrl);
  redisProxy = await PgProxy.start(TEST_REDIS_URL);
  // ROLE=api: no worker in this process; the jobs are only submitted and read.
  app = await startTestApp(space, {
    ROLE: 'api',
    DATABASE_URL: pgProxy.url(space.databaseUrl),
    REDIS_URL: redisProxy.url(TEST_REDIS_URL),
    RATE_LIMIT_MAX: '0',
    DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
  });
});

afterEach(async () => {
  pgProxy.set('pass');
  redisProxy.set('pass');
  await expectEventually(async () => expect((await app.get('/health/ready')).status).toBe(200), { timeoutMs: 15_000 });
});

afterAll(async () => {
  await app?.close();
  await pgProxy?.close();
  await redisProxy?.close();
});

describe('PostgreSQL unavailable', () => {
  it('answers 503 DATABASE_UNAVAILABLE with Retry-After within a second when connections are refused, then 201 once it is back', async () => {
    pgProxy.set('reset');
    const submit = await timed(() => app.post('/jobs', aJob()));
    expect(submit.ms).toBeLessThan(1500);
    expectUnavailable(submit.result, 'DATABASE_UNAVAILABLE');
    expect(submit.result.body.message).toMatch(/^PostgreSQL is unavailable/);
    const read = await timed(() => app.get('/jobs'));
    expect(read.ms).toBeLessThan(1500);
    expectUnavailable(read.result, 'DATABASE_UNAVAILABLE');

    pgProxy.set('pass');
    const stored = await expectEventually(
      async () => {
        const response = await app.post('/jobs', aJob());
        expect(response.status).toBe(201);
        return response.body;
      },
      { timeoutMs: 5000 },
    );
    expect((await app.get(`/jobs/${stored.id}`)).status).toBe(200);
  });

  it('answers 503 within about a second when PostgreSQL stops answering (network split), for requests in flight and new ones', async () => {
    pgProxy.set('blackhole');
    const [inFlight, read] = await Promise.all([timed(() => app.post('/jobs', aJob())), timed(() => app.get('/jobs'))]);
    for (const call of [inFlight, read]) {
      expect(call.ms).toBeLessThan(2500);
      expectUnavailable(call.result, 'DATABASE_UNAVAILABLE');
    }
    // Once the probe has seen the split, answers come from its state: no request waits out a
    // connection attempt (DB_CONNECT_TIMEOUT_MS) any more. How fast they come is the door bench's figure.
    const next = await timed(() => app.post('/jobs', aJob()));
    expect(next.ms).toBeLessThan(CONNECT_TIMEOUT_MS);
    expectUnavailable(next.result, 'DATABASE_UNAVAILABLE');
    const health = await timed(() => app.get('/health/ready'));
    expect(health.ms).toBeLessThan(CONNECT_TIMEOUT_MS);
    expect(health.result.status).toBe(503);
    expect(health.result.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } }, info: { redis: { status: 'up' } } });
    expect((await app.get('/health')).status).toBe(503);
    expect((await app.get('/health/live')).status).toBe(200);

    pgProxy.set('pass');
    await expectEventually(async () => expect((await app.post('/jobs', aJob())).status).toBe(201), { timeoutMs: 5000 });
  });

  it('never acknowledges a job that was not stored, across an outage', async () => {
    const answers: Array<{ key: string; status: number; id?: string }> = [];
    const submitOne = async () => {
      const key = randomUUID();
      const response = await app.post('/jobs', aJob(key));
      answers.push({ key, status: response.status, id: response.body?.id });
    };
    const stop = Date.now() + 3000;
    const flow = (async () => {
      while (Date.now() < stop) await Promise.all([submitOne(), submitOne(), submitOne()]);
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    pgProxy.set('reset');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    pgProxy.set('pass');
    await flow;

    expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([201, 503]));
    await expectEventually(async () => expect((await app.get('/health/ready')).status).toBe(200), { timeoutMs: 5000 });
    for (const acknowledged of answers.filter((a) => a.status === 201)) {
      expect((await app.get(`/jobs/${acknowledged.id}`)).status).toBe(200);
    }
  });
});

describe('Redis unavailable', () => {
  it('answers 503 REDIS_UNAVAILABLE to changes within about a second, keeps serving reads, and recovers', async () => {
    redisProxy.set('reset');
    const cutAt = performance.now();
    // A change is stored in PostgreSQL; Redis only carries the news, so before the probe has seen
    // Redis go a submit may still be acknowledged (and is stored).
    const first = await timed(() => app.post('/jobs', aJob()));
    expect(first.ms).toBeLessThan(1500);
    expect([201, 503]).toContain(first.result.status);
    await expectEventually(async () => expectUnavailable(await app.post('/jobs', aJob()), 'REDIS_UNAVAILABLE'), { timeoutMs: 2000 });
    expect(performance.now() - cutAt).toBeLessThan(1500);
    expect((await app.get('/jobs')).status).toBe(200);
    expect((await app.get('/health')).body).toMatchObject({ status: 'error', error: { redis: { status: 'down' } } });

    redisProxy.set('pass');
    await expectEventually(async () => expect((await app.post('/jobs', aJob())).status).toBe(201), { timeoutMs: 8000 });
    if (first.result.status === 201) expect((await app.get(`/jobs/${first.result.body.id}`)).status).toBe(200);
  });

  it('answers 503 within about a second when Redis stops answering', async () => {
    redisProxy.set('blackhole');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Before the probe has seen it, a submit is stored in PostgreSQL and acknowledged (the scheduler
    // hands it over once Redis answers); either way the answer comes at once.
    const submit = await timed(() => app.post('/jobs', aJob()));
    expect(submit.ms).toBeLessThan(2500);
    expect([201, 503]).toContain(submit.result.status);
    await expectEventually(async () => expectUnavailable(await app.post('/jobs', aJob()), 'REDIS_UNAVAILABLE'), { timeoutMs: 2000 });
    const read = await timed(() => app.get('/jobs'));
    expect(read.ms).toBeLessThan(500);
    expect(read.result.status).toBe(200);
    redisProxy.set('pass');
    if (submit.result.status === 201) expect((await app.get(`/jobs/${submit.result.body.id}`)).status).toBe(200);
  });
});

describe('health endpoints', () => {
  it('/health/live and /health/ready answer 200 with everything up, /health keeps the Terminus shape', async () => {
    expect((await app.get('/health/live')).body).toEqual({ status: 'ok' });
    const ready = await app.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } }, error: {} });
    const health = await app.get('/health');
    expect(health.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } }, error: {}, details: {} });
  });

  it('are documented in the OpenAPI document', async () => {
    const doc = await app.get('/docs-json');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/health', '/health/live', '/health/ready']));
  });
});

describe('GET /health while the connection pool is saturated', () => {
  it('answers from the probe\'s state, never waiting for a pooled connection, while every pooled connection waits on a lock', async () => {
    // A lock on the jobs table holds every submit's connection: the pool is exhausted, PostgreSQL still answers.
    const admin = new pg.Client({ connectionString: space.databaseUrl });
    await admin.connect();
    const submits: Array<Promise<JsonResponse>> = [];
    try {
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
      for (let i = 0; i < 40; i++) submits.push(app.post('/jobs', aJob()));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const samples: number[] = [];
      const stopAt = Date.now() + 1500;
      while (Date.now() < stopAt) {
        const { result, ms } = await timed(() => app.get('/health'));
        expect(result.status).toBe(200);
        samples.push(ms);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // A request that waited for a pooled connection would take DB_CONNECT_TIMEOUT_MS and answer 503; the
      // latency of these answers under load is measured by `npm run bench door`, not asserted here.
      expect(samples.length).toBeGreaterThan(20);
      expect(Math.max(...samples)).toBeLessThan(CONNECT_TIMEOUT_MS);
    } finally {
      await admin.query('ROLLBACK');
      await admin.end();
    }
    // Submits that waited for a pooled connection past DB_CONNECT_TIMEOUT_MS got 503, the others went through.
    const statuses = (await Promise.all(submits)).map((r) => r.status);
    expect(statuses.filter((s) => s !== 201 && s !== 503)).toEqual([]);
    expect(statuses).toContain(503);
  });
});
