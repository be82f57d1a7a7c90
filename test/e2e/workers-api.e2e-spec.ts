import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { RetentionService } from '../../src/scheduler/retention.service.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * GET /workers and the retention of workers that are gone: the app's own worker is active; the
 * others are rows as a stopped or lost process leaves them.
 */
let app: TestApp;
let db: DataSource;
let ownWorker: string;

const HOUR = 3600;

/** A worker row as a process leaves it, stopped or lost (or last heard from, when draining) `agoSeconds` ago. */
async function insertWorker(id: string, status: 'stopped' | 'lost' | 'draining', agoSeconds: number): Promise<void> {
  await db.query(
    `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb, started_at, last_heartbeat_at, stopped_at)
     VALUES ($1, 'gone-host', 4242, $2::varchar, 4, 4, 1024, now() - make_interval(secs => $3::float8 + 60), now() - make_interval(secs => $3::float8),
             CASE WHEN $2::varchar = 'draining' THEN NULL ELSE now() - make_interval(secs => $3::float8) END)`,
    [id, status, agoSeconds],
  );
}

const ids = (response: { body: { items: Array<{ id: string }> } }) => response.body.items.map((w) => w.id).sort();

beforeAll(async () => {
  // A long sweep of retention: the test runs the pass itself.
  app = await startTestApp(await createTestSpace('workers_api'), { WORKER_RETENTION_SECONDS: String(24 * HOUR), RETENTION_INTERVAL_MS: '86400000' });
  db = app.app.get(DataSource);
  ownWorker = await expectEventually(async () => {
    const response = await app.get('/workers');
    expect(response.body.items).toHaveLength(1);
    return response.body.items[0].id as string;
  });
  // Stopped recently: the leader's first retention pass (at boot) must not forget them before the
  // list tests ran; the retention test below moves their stop two days back.
  await insertWorker('stopped-2d', 'stopped', 600);
  await insertWorker('lost-2d', 'lost', 600);
  await insertWorker('lost-10m', 'lost', 600);
  await insertWorker('stopped-2d-holding', 'stopped', 600);
  await insertWorker('draining-now', 'draining', 0);
});

afterAll(async () => {
  await app?.close();
});

describe('GET /workers', () => {
  it('lists the active and draining workers by default', async () => {
    const response = await app.get('/workers');
    expect(response.status).toBe(200);
    expect(ids(response)).toEqual(['draining-now', ownWorker].sort());
  });

  it.each([
    ['status=lost', ['lost-10m', 'lost-2d']],
    ['status=stopped,lost', ['lost-10m', 'lost-2d', 'stopped-2d', 'stopped-2d-holding']],
    ['status=stopped&status=draining', ['draining-now', 'stopped-2d', 'stopped-2d-holding']],
  ])('filters by ?%s', async (query, expected) => {
    const response = await app.get(`/workers?${query}`);
    expect(response.status).toBe(200);
    expect(ids(response)).toEqual(expected);
  });

  it('refuses an unknown status with 400 naming the statuses', async () => {
    const response = await app.get('/workers?status=dead');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ field: 'status', message: 'each status must be one of: active, draining, lost, stopped' }],
    });
  });
});

describe('worker retention', () => {
  it('forgets stopped and lost workers past WORKER_RETENTION_SECONDS, keeping those a job still holds resources on', async () => {
    // A job placed on a stopped worker (its queue paused, so that nothing else moves it): the
    // worker stays until the leader has taken the job back.
    expect((await app.patch('/queues/noop', { paused: true })).status).toBe(200);
    const held = await app.submit({ type: 'noop' });
    await db.query(`UPDATE jobs SET allocated = true, worker_id = 'stopped-2d-holding', placed_at = now() WHERE id = $1`, [held.id]);
    await db.query(`UPDATE workers SET stopped_at = now() - interval '2 days' WHERE id IN ('stopped-2d', 'lost-2d', 'stopped-2d-holding')`);

    const forgotten = await app.app.get(RetentionService).forgetGoneWorkers();

    expect(forgotten.sort()).toEqual(['lost-2d', 'stopped-2d']);
    const all = await app.get('/workers?status=active,draining,stopped,lost');
    expect(ids(all)).toEqual(['draining-now', 'lost-10m', 'stopped-2d-holding', ownWorker].sort());
  });
});
