import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { aJob } from '../builders/job.builder.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * Queues and flow control through the API of one process (ROLE=all): the endpoints and their bad
 * input, concurrency keys on jobs, pause and limits with their waiting reasons, and counts.
 */

const CLEAR = { paused: false, concurrency_limit: null, key_concurrency_limit: null, rate_limit: null };

let space: TestSpace;
let app: TestApp;

beforeAll(async () => {
  space = await createTestSpace('queues_api');
  app = await startTestApp(space, { MAX_CONCURRENT_JOBS: '8' });
});

afterAll(async () => {
  await app?.close();
});

afterEach(async () => {
  expect((await app.patch('/queues/noop', CLEAR)).status).toBe(200);
});

const statusOf = async (id: string) => (await app.getJob(id)).status as string;

describe('GET /queues, GET and PATCH /queues/{type}', () => {
  it('lists one queue per registered type, with settings, counts by status and oldest_ready_at', async () => {
    const res = await app.get('/queues');
    expect(res.status).toBe(200);
    const types = res.body.items.map((q: any) => q.type);
    expect(types).toEqual(expect.arrayContaining(['noop', 'data_export', 'send_email']));
    const noop = res.body.items.find((q: any) => q.type === 'noop');
    expect(noop).toMatchObject({ paused: false, concurrency_limit: null, key_concurrency_limit: null, rate_limit: null });
    expect(Object.keys(noop.counts).sort()).toEqual(['blocked', 'cancelled', 'completed', 'failed', 'pending', 'ready', 'running', 'timeout']);
  });

  it('changes only the fields given, clears with null, and keeps the change in PostgreSQL', async () => {
    let res = await app.patch('/queues/noop', { concurrency_limit: 5, rate_limit: { limit: 10, interval_ms: 1000 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ type: 'noop', paused: false, concurrency_limit: 5, key_concurrency_limit: null, rate_limit: { limit: 10, interval_ms: 1000 } });
    res = await app.patch('/queues/noop', { key_concurrency_limit: 2 });
    expect(res.body).toMatchObject({ concurrency_limit: 5, key_concurrency_limit: 2, rate_limit: { limit: 10, interval_ms: 1000 } });
    res = await app.patch('/queues/noop', { rate_limit: null, concurrency_limit: null });
    expect(res.body).toMatchObject({ concurrency_limit: null, key_concurrency_limit: 2, rate_limit: null });
    expect((await app.get('/queues/noop')).body).toMatchObject({ key_concurrency_limit: 2 });
    const db = new pg.Client({ connectionString: space.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT key_concurrency_limit FROM queues WHERE type = 'noop'`);
      expect(rows).toEqual([{ key_concurrency_limit: 2 }]);
    } finally {
      await db.end();
    }
  });

  it.each([
    [{ concurrency_limit: 0 }, 'concurrency_limit'],
    [{ concurrency_limit: 1.5 }, 'concurrency_limit'],
    [{ concurrency_limit: '3' }, 'concurrency_limit'],
    [{ key_concurrency_limit: -1 }, 'key_concurrency_limit'],
    [{ rate_limit: { limit: 5, interval_ms: 10 } }, 'rate_limit.interval_ms'],
    [{ rate_limit: { limit: 0, interval_ms: 1000 } }, 'rate_limit.limit'],
    [{ rate_limit: { limit: 5 } }, 'rate_limit.interval_ms'],
    [{ rate_limit: 5 }, 'rate_limit'],
    [{ paused: 'yes' }, 'paused'],
    [{ pause: true }, 'pause'],
    [{}, 'body'],
  ])('refuses %j with 400 naming %s', async (body, field) => {
    const res = await app.patch('/queues/noop', body);
    expect(res.status).toBe(400);
    expect(res.body.code).toEqual(expect.any(String));
    expect(JSON.stringify(res.body)).toContain(field);
  });

  it('answers 404 for a type that is not registered', async () => {
    for (const res of [await app.get('/queues/nope'), await app.patch('/queues/nope', { paused: true })]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('QUEUE_NOT_FOUND');
    }
  });
});

describe('concurrency_key on jobs', () => {
  it('is stored from a submit and a batch, and filters GET /jobs', async () => {
    const one = await app.submit(aJob({ concurrency_key: 'tenant-a' }));
    expect(one.concurrency_key).toBe('tenant-a');
    const batch = await app.post('/jobs/batch', { jobs: [aJob({ concurrency_key: 'tenant-b' }), aJob({ concurrency_key: 'tenant-a' }), aJob()] });
    expect(batch.status).toBe(201);
    expect(batch.body.items.map((j: any) => j.concurrency_key)).toEqual(['tenant-b', 'tenant-a', null]);
    const list = await app.get('/jobs?concurrency_key=tenant-a&limit=200');
    expect(list.status).toBe(200);
    expect(list.body.items.map((j: any) => j.id).sort()).toEqual([one.id, batch.body.items[1].id].sort());
    const both = await app.get('/jobs?concurrency_key=tenant-a,tenant-b&limit=200');
    expect(both.body.items).toHaveLength(3);
  });

  it('refuses a key longer than 200 characters, or empty, with 400 naming the field', async () => {
    for (const key of ['k'.repeat(201), '', 42]) {
      const res = await app.post('/jobs', aJob({ concurrency_key: key }));
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('concurrency_key');
    }
    expect((await app.post('/jobs', aJob({ concurrency_key: 'k'.repeat(200) }))).status).toBe(201);
    expect((await app.get(`/jobs?concurrency_key=${'k'.repeat(201)}`)).status).toBe(400);
    expect((await app.get('/jobs?concurrency_key=')).status).toBe(400);
  });

  it('finds a job whose key contains a comma by that key', async () => {
    const comma = await app.submit(aJob({ concurrency_key: 'region-1,tier-2', run_at: new Date(Date.now() + 600_000).toISOString() }));
    for (const url of ['/jobs?concurrency_key=region-1,tier-2', '/jobs?concurrency_key=region-1%2Ctier-2']) {
      expect((await app.get(url)).body.items.map((j: any) => j.id)).toContain(comma.id);
    }
  });
});

describe('pause', () => {
  it('holds the jobs of a paused type with QUEUE_PAUSED while others run, and resumes', async () => {
    expect((await app.patch('/queues/noop', { paused: true })).body.paused).toBe(true);
    const held = await app.submit(aJob());
    const other = await app.submit({ type: 'data_processing', payload: { records: [{ a: 1 }], operations: [] } });
    await expectEventually(async () => expect(await statusOf(other.id)).toBe('completed'));
    await expectEventually(async () => expect((await app.getJob(held.id)).waiting_reason).toMatchObject({ code: 'QUEUE_PAUSED' }), { timeoutMs: 5000 });
    expect(await statusOf(held.id)).toBe('ready');
    const queue = (await app.get('/queues/noop')).body;
    expect(queue.counts.ready).toBeGreaterThanOrEqual(1);
    expect(queue.oldest_ready_at).not.toBeNull();
    await app.patch('/queues/noop', { paused: false });
    await expectEventually(async () => expect(await statusOf(held.id)).toBe('completed'));
    expect((await app.getJob(held.id)).waiting_reason).toBeNull();
  });

  it('lets running jobs of the type finish', async () => {
    const running = await app.submit(aJob({ payload: { duration_ms: 500 } }));
    await expectEventually(async () => expect(await statusOf(running.id)).toBe('running'));
    await app.patch('/queues/noop', { paused: true });
    await expectEventually(async () => expect(await statusOf(running.id)).toBe('completed'));
  });
});

describe('concurrency limits', () => {
  it('a type limit holds the rest with CONCURRENCY_LIMIT (scope type, with the numbers)', async () => {
    await app.patch('/queues/noop', { concurrency_limit: 1 });
    const first = await app.submit(aJob({ payload: { duration_ms: 4000 } }));
    await expectEventually(async () => expect(await statusOf(first.id)).toBe('running'));
    const second = await app.submit(aJob());
    await expectEventually(
      async () => expect((await app.getJob(second.id)).waiting_reason).toMatchObject({ code: 'CONCURRENCY_LIMIT', scope: 'type', limit: 1, running: 1 }),
      { timeoutMs: 5000 },
    );
    expect(await statusOf(second.id)).toBe('ready');
    await expectEventually(async () => expect(await statusOf(second.id)).toBe('completed'), { timeoutMs: 10_000 });
  });

  it('a key limit holds only that key; another key and jobs without a key run', async () => {
    await app.patch('/queues/noop', { key_concurrency_limit: 1 });
    const a1 = await app.submit(aJob({ concurrency_key: 'A', payload: { duration_ms: 4000 } }));
    await expectEventually(async () => expect(await statusOf(a1.id)).toBe('running'));
    const a2 = await app.submit(aJob({ concurrency_key: 'A' }));
    const b1 = await app.submit(aJob({ concurrency_key: 'B' }));
    const n1 = await app.submit(aJob());
    await expectEventually(async () => expect([await statusOf(b1.id), await statusOf(n1.id)]).toEqual(['completed', 'completed']));
    await expectEventually(
      async () => expect((await app.getJob(a2.id)).waiting_reason).toMatchObject({ code: 'CONCURRENCY_LIMIT', scope: 'key', key: 'A', limit: 1, running: 1 }),
      { timeoutMs: 5000 },
    );
    await expectEventually(async () => expect(await statusOf(a2.id)).toBe('completed'), { timeoutMs: 10_000 });
  });
});

describe('rate limit', () => {
  it('holds starts over the limit with RATE_LIMITED until a time, then runs them', async () => {
    await app.patch('/queues/noop', { rate_limit: { limit: 2, interval_ms: 3000 } });
    const jobs = await Promise.all(Array.from({ length: 4 }, () => app.submit(aJob())));
    await expectEventually(async () => {
      const reasons = await Promise.all(jobs.map(async (j) => (await app.getJob(j.id)).waiting_reason?.code ?? null));
      expect(reasons.filter((r) => r === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(1);
    }, { timeoutMs: 5000 });
    const limited = (await Promise.all(jobs.map((j) => app.getJob(j.id)))).find((j) => j.waiting_reason?.code === 'RATE_LIMITED');
    expect(Date.parse(limited.waiting_reason.until)).toBeGreaterThan(Date.now() - 3000);
    await expectEventually(async () => expect(await Promise.all(jobs.map((j) => statusOf(j.id)))).toEqual(jobs.map(() => 'completed')), { timeoutMs: 20_000 });
    const starts = (await Promise.all(jobs.map((j) => app.getJob(j.id)))).map((j) => Date.parse(j.started_at)).sort((a, b) => a - b);
    // Counted from started_at: no window of 3 s holds more than 2 starts.
    for (let i = 2; i < starts.length; i += 1) expect(starts[i]! - starts[i - 2]!).toBeGreaterThanOrEqual(3000);
  });
});

describe('counts', () => {
  it('move with the transitions and agree with the jobs table', async () => {
    const before = (await app.get('/queues/noop')).body.counts;
    const jobs = await Promise.all(Array.from({ length: 5 }, () => app.submit(aJob())));
    await expectEventually(async () => expect(await Promise.all(jobs.map((j) => statusOf(j.id)))).toEqual(jobs.map(() => 'completed')));
    const after = (await app.get('/queues/noop')).body.counts;
    expect(after.completed - before.completed).toBe(5);
    const db = new pg.Client({ connectionString: space.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT status::text, count(*)::int AS n FROM jobs WHERE type = 'noop' GROUP BY status`);
      const actual = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      const now = (await app.get('/queues/noop')).body.counts;
      for (const [status, n] of Object.entries(now)) expect([status, n]).toEqual([status, actual[status] ?? 0]);
      const metrics = (await app.get('/metrics')).body as string;
      const { rows: total } = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'completed'`);
      expect(metrics).toMatch(new RegExp(`^draconic_jobs\\{status="completed"\\} ${total[0].n}$`, 'm'));
    } finally {
      await db.end();
    }
  });
});
