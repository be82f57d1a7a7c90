import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { WorkerRepository } from '../../src/resources/worker.repository.js';
import { expectEventually, startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * An operator's lock on `jobs` (VACUUM FULL, ALTER TABLE, a DDL queued behind a long dump) delays the
 * jobs' writes but not the workers' heartbeats, which touch `workers` alone on a connection of their
 * own: PostgreSQL answers, so no worker fences itself and no running job is failed as lost, even while
 * every pooled connection waits behind the lock.
 */

const WORKER_LOST_SECONDS = 3; // the lease: three quarters of it
let app: TestApp;
/** The test's own session: it takes the lock. */
let db: pg.Client;

beforeAll(async () => {
  ({ app, db } = await startTestAppWithDatabase('jobs_table_lock', { ROLE: 'all', HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: String(WORKER_LOST_SECONDS), DB_POOL_SIZE: '3' }));
});

afterAll(async () => {
  await db?.end();
  await app?.close();
});

async function holdingJobsLock<T>(ms: number, during: () => Promise<T>): Promise<T> {
  await db.query('BEGIN');
  await db.query('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
  try {
    const [result] = await Promise.all([during(), new Promise((resolve) => setTimeout(resolve, ms))]);
    return result;
  } finally {
    await db.query('COMMIT');
  }
}

/** The job once it completed or failed. */
const ended = (id: string) =>
  expectEventually(async () => {
    const job = await app.getJob(id);
    expect(['completed', 'failed']).toContain(job.status);
    return job;
  }, { timeoutMs: 15_000, intervalMs: 100 });

describe('a lock on the jobs table', () => {
  it('does not hold back a heartbeat', async () => {
    const workers = app.app.get(WorkerRepository);
    const token = randomUUID();
    await workers.upsert({ id: 'w-locked', host: 'test', pid: 1, maxConcurrentJobs: 1, maxCpuUnits: 1, maxMemoryMb: 64, bootToken: token, pidScope: '' });
    const answer = await holdingJobsLock(300, () =>
      Promise.race([workers.heartbeat('w-locked', token, [], 1), new Promise((resolve) => setTimeout(() => resolve('blocked'), 2000))]),
    );
    expect(answer).toEqual({ alive: true, replaced: false });
  });

  it('held longer than the worker’s lease leaves a job running to its end, its one attempt unspent', async () => {
    const job = await app.submit({ type: 'noop', payload: { duration_ms: 6000 }, retry_config: { max_attempts: 1 } });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('running'), { timeoutMs: 10_000 });
    await holdingJobsLock(WORKER_LOST_SECONDS * 1000 + 1000, async () => undefined);
    expect(await ended(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
  }, 30_000);

  it('held while every pooled connection waits behind it, still leaves the running job its attempt', async () => {
    const job = await app.submit({ type: 'noop', payload: { duration_ms: 6000 }, retry_config: { max_attempts: 1 } });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('running'), { timeoutMs: 10_000 });
    const waiting: Array<Promise<unknown>> = [];
    await holdingJobsLock(WORKER_LOST_SECONDS * 1000 + 1000, async () => {
      // Reads of jobs queue behind the lock and take the pool's three connections, and more wait for one.
      for (let i = 0; i < 8; i++) waiting.push(app.get('/jobs?limit=1'));
    });
    await Promise.all(waiting);
    expect(await ended(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
  }, 30_000);
});
