import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { aJob } from '../builders/job.builder.js';
import { FlowControlState } from '../../src/scheduler/flow-control-state.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * A rate limit counts every start in its window, also after the leader rebuilt what it knows of
 * them (a takeover, a change of the limit): the earlier attempts of retried jobs and the starts of
 * jobs deleted since still count.
 */

const CLEAR = { paused: false, concurrency_limit: null, key_concurrency_limit: null, rate_limit: null };
const LIMIT = { limit: 4, interval_ms: 10_000 };

let space: TestSpace;
let app: TestApp;
let db: pg.Client;

beforeAll(async () => {
  space = await createTestSpace('rate_limit_starts');
  app = await startTestApp(space, { MAX_CONCURRENT_JOBS: '8' });
  db = new pg.Client({ connectionString: space.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await app?.close();
});

afterEach(async () => {
  expect((await app.patch('/queues/noop', CLEAR)).status).toBe(200);
  // Every start so far an hour back, out of the next test's windows, and the leader's log read afresh:
  // each test begins with an empty window instead of waiting for it to close.
  await expectEventually(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE status NOT IN ('completed', 'failed', 'timeout', 'cancelled')`);
    expect(rows[0].n).toBe(0);
  }, { timeoutMs: 10_000 });
  await db.query(`UPDATE jobs SET started_at = started_at - interval '1 hour', placed_at = placed_at - interval '1 hour'`);
  await db.query(`UPDATE rate_limit_starts SET started_at = started_at - interval '1 hour'`);
  app.app.get(FlowControlState).takeOver();
});

const statusOf = async (id: string) => (await app.getJob(id)).status as string;

/** Four starts of `noop` in the window: a job that fails once and is retried (two starts), and two jobs deleted once completed. */
async function fourStarts(): Promise<void> {
  const retried = await app.submit(aJob({ payload: { fail_attempts: 1 }, retry_config: { max_attempts: 2, initial_delay_ms: 10 } }));
  const gone = [await app.submit(aJob()), await app.submit(aJob())];
  await expectEventually(async () => {
    for (const id of [retried.id, ...gone.map((j) => j.id)]) expect(await statusOf(id)).toBe('completed');
  }, { timeoutMs: 10_000 });
  for (const job of gone) expect((await app.request('DELETE', `/jobs/${job.id}`)).status).toBe(204);
  expect((await app.getJob(retried.id)).attempts).toBe(2);
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [gone.map((j) => j.id)]);
  expect(rows[0].n).toBe(0);
}

/** Submits three more: the limit leaves room for none of them in the window. */
async function expectNoneStarts(): Promise<void> {
  const more = [await app.submit(aJob()), await app.submit(aJob()), await app.submit(aJob())];
  // A few passes: none of them has started, each says why.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect(await Promise.all(more.map((job) => statusOf(job.id)))).toEqual(['ready', 'ready', 'ready']);
  for (const job of more) expect((await app.getJob(job.id)).waiting_reason).toMatchObject({ code: 'RATE_LIMITED' });
}

describe('a rate limit after the leader rebuilt its starts', () => {
  it('a change of the limit: the retried attempts and the deleted jobs still count', async () => {
    expect((await app.patch('/queues/noop', { ...CLEAR, rate_limit: LIMIT })).status).toBe(200);
    await fourStarts();
    expect((await app.patch('/queues/noop', { rate_limit: { ...LIMIT, limit: 5 } })).status).toBe(200);
    expect((await app.patch('/queues/noop', { rate_limit: LIMIT })).status).toBe(200);
    await expectNoneStarts();
  }, 60_000);

  it('a window narrowed and widened again: the starts of the wider window still count', async () => {
    expect((await app.patch('/queues/noop', { ...CLEAR, rate_limit: LIMIT })).status).toBe(200);
    await fourStarts();
    expect((await app.patch('/queues/noop', { rate_limit: { ...LIMIT, interval_ms: 1000 } })).status).toBe(200);
    // Passes under the narrow window forget the starts older than it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await app.patch('/queues/noop', { rate_limit: LIMIT })).status).toBe(200);
    await expectNoneStarts();
  }, 90_000);

  it('a takeover: a placement older than the window and not started yet counts as a start to come', async () => {
    // A worker frozen (or slow to take its hand-over) holds a placement of the old term; it may start it
    // any moment once it resumes. The new term must leave room for that start.
    expect((await app.patch('/queues/noop', { ...CLEAR, paused: true, rate_limit: { limit: 1, interval_ms: 1000 } })).status).toBe(200);
    const placed = await app.submit(aJob());
    await expectEventually(async () => expect((await app.getJob(placed.id)).waiting_reason).toMatchObject({ code: 'QUEUE_PAUSED' }));
    await db.query(`UPDATE jobs SET allocated = true, worker_id = 'w-frozen', placed_at = now() - interval '2 seconds' WHERE id = $1`, [placed.id]);
    expect((await app.patch('/queues/noop', { paused: false })).status).toBe(200);
    app.app.get(FlowControlState).takeOver();
    const next = await app.submit(aJob());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await statusOf(next.id)).toBe('ready');
    expect((await app.getJob(next.id)).waiting_reason).toMatchObject({ code: 'RATE_LIMITED' });
    // The placement is taken back from the worker that never started it, and both run in time.
    await expectEventually(async () => {
      for (const id of [placed.id, next.id]) expect(await statusOf(id)).toBe('completed');
    }, { timeoutMs: 30_000 });
  }, 60_000);

  it('a takeover: the new term counts the starts of the old one', async () => {
    expect((await app.patch('/queues/noop', { ...CLEAR, rate_limit: LIMIT })).status).toBe(200);
    await fourStarts();
    app.app.get(FlowControlState).takeOver();
    await expectNoneStarts();
  }, 90_000);
});
