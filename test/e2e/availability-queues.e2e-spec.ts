import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { aJob } from '../builders/job.builder.js';
import { deleteRedisKeys, NOTHING_ALLOCATED, redisKeys, workerView } from '../support/engine.js';
import { startWorkerProcess, stopAllProcesses, type WorkerProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, startTestApp, TEST_REDIS_URL, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * The dispatch queues in Redis: pickup resumes within about a second after Redis lost its content,
 * and the Bull queue of a worker that was declared lost or stopped leaves no key behind. The API
 * (and scheduler) run in the test process, the workers in processes of their own.
 */

const HEARTBEAT = { HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: '3' };

let space: TestSpace;
let api: TestApp;

beforeAll(async () => {
  space = await createTestSpace('availability_queues');
  api = await startTestApp(space, { ROLE: 'api', ...HEARTBEAT });
});

afterAll(async () => {
  await stopAllProcesses();
  await api?.close();
});

const queueKeys = (workerId: string) => redisKeys(`${space.redisPrefix}:worker:${workerId}`);

describe('Redis losing its content', () => {
  it('hands placed jobs over again within about a second, each started once', async () => {
    const worker = await startWorkerProcess(space, { ...HEARTBEAT, WORKER_ID: 'flushed', MAX_CONCURRENT_JOBS: '4' });
    worker.kill('SIGSTOP'); // it takes nothing, and stays live for the scheduler
    try {
      const jobs = [];
      for (let i = 0; i < 3; i += 1) jobs.push(await api.submit(aJob({ payload: { echo: { i } } })));
      const ids = jobs.map((j) => j.id).sort();
      await expectEventually(async () => expect([...(await workerView(api, 'flushed')).placed_jobs].sort()).toEqual(ids));

      // What a FLUSHDB does to this deployment: every key under its prefix is gone, the queued hand-overs with them.
      expect(await deleteRedisKeys(space.redisPrefix)).toBeGreaterThan(0);
      const flushedAt = Date.now();
      worker.kill('SIGCONT');

      for (const job of jobs) {
        const started = await expectEventually(
          async () => {
            const seen = await api.getJob(job.id);
            expect(seen.started_at).not.toBeNull();
            return seen;
          },
          { timeoutMs: 8000 },
        );
        expect(Date.parse(started.started_at) - flushedAt).toBeLessThan(1800);
      }
      for (const job of jobs) {
        await expectEventually(async () => expect(await api.getJob(job.id)).toMatchObject({ status: 'completed', attempts: 1, worker_id: 'flushed' }));
        const starts = (await api.get(`/jobs/${job.id}/logs`)).body.items.filter((l: { message: string }) => /started/.test(l.message));
        expect(starts).toHaveLength(1);
      }
      await expectEventually(async () => expect((await workerView(api, 'flushed')).allocated).toEqual(NOTHING_ALLOCATED));
    } finally {
      worker.kill('SIGCONT');
      worker.kill('SIGTERM');
      await worker.exited;
    }
  });
});

describe('the Bull queue of a gone worker', () => {
  async function workerWithQueuedJob(workerId: string): Promise<{ worker: WorkerProcess; jobId: string }> {
    const worker = await startWorkerProcess(space, { ...HEARTBEAT, WORKER_ID: workerId });
    const done = await api.submit(aJob());
    await expectEventually(async () => expect(await api.getJob(done.id)).toMatchObject({ status: 'completed' }));
    // One more job queued in Redis and never taken: the worker is frozen.
    worker.kill('SIGSTOP');
    const queued = await api.submit(aJob());
    await expectEventually(async () => expect((await workerView(api, workerId)).placed_jobs).toContain(queued.id));
    await expectEventually(async () => expect((await queueKeys(workerId)).length).toBeGreaterThan(0));
    return { worker, jobId: queued.id };
  }

  it('is deleted from Redis when the worker is declared lost, by a leader that never handed it a job, and no other key is touched', async () => {
    const { worker, jobId } = await workerWithQueuedJob('lost-one');
    // A new leader (this API restarted) knows the worker's queue only by its name.
    await api.close();
    api = await startTestApp(space, { ROLE: 'api', ...HEARTBEAT });
    // Keys that only look alike: a queue whose name extends this one's, and the same queue under another prefix.
    const redis = new Redis(TEST_REDIS_URL);
    let keeper: WorkerProcess | undefined;
    const lookalikes = [`${space.redisPrefix}:worker:lost-one:b:wait`, `${space.redisPrefix}-other:worker:lost-one:wait`];
    try {
      for (const key of lookalikes) await redis.rpush(key, 'x');
      worker.kill('SIGKILL');
      keeper = await startWorkerProcess(space, { ...HEARTBEAT, WORKER_ID: 'keeper' });
      await expectEventually(async () => expect((await workerView(api, 'lost-one')).status).toBe('lost'), { timeoutMs: 10_000 });
      await expectEventually(async () => expect((await queueKeys('lost-one')).filter((k) => !lookalikes.includes(k))).toEqual([]), { timeoutMs: 3000 });
      await expectEventually(async () => expect(await api.getJob(jobId)).toMatchObject({ status: 'completed', worker_id: 'keeper' }), { timeoutMs: 10_000 });
      for (const key of lookalikes) expect(await redis.exists(key)).toBe(1);
    } finally {
      keeper?.kill('SIGTERM');
      await keeper?.exited;
      await redis.del(...lookalikes);
      redis.disconnect();
    }
  });

  it('is deleted from Redis when the worker stops', async () => {
    const worker = await startWorkerProcess(space, { ...HEARTBEAT, WORKER_ID: 'stopping-one' });
    const job = await api.submit(aJob({ payload: { duration_ms: 200 } }));
    await expectEventually(async () => expect(await api.getJob(job.id)).toMatchObject({ status: 'completed', worker_id: 'stopping-one' }));
    worker.kill('SIGTERM');
    await worker.exited;
    expect(await workerView(api, 'stopping-one')).toMatchObject({ status: 'stopped' });
    expect(await queueKeys('stopping-one')).toEqual([]);
  });
});
