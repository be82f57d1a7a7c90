import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { aJob } from '../builders/job.builder.js';
import { attemptStarts, jobLogs, listWorkers, NOTHING_ALLOCATED, workerView } from '../support/engine.js';
import { startWorkerProcess, stopAllProcesses, type WorkerProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * Two workers in their own processes, the API (and so the scheduler) in the test process:
 * best-fit placement, and a worker killed with SIGKILL mid-run.
 */

const FAST_FAILURE = { HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: '2' };
const WORKER_SIZE = { MAX_CONCURRENT_JOBS: '4', MAX_MEMORY_MB: '1024' };

let space: TestSpace;
let api: TestApp;
let small: WorkerProcess; // killed with SIGKILL below; the big one lives until afterAll

beforeAll(async () => {
  space = await createTestSpace('engine_workers');
  api = await startTestApp(space, { ROLE: 'api', ...FAST_FAILURE });
  [small] = await Promise.all([
    startWorkerProcess(space, { ...FAST_FAILURE, ...WORKER_SIZE, MAX_CPU_UNITS: '2', WORKER_ID: 'small-worker' }),
    startWorkerProcess(space, { ...FAST_FAILURE, ...WORKER_SIZE, MAX_CPU_UNITS: '8', WORKER_ID: 'big-worker' }),
  ]);
});

afterAll(async () => {
  await stopAllProcesses();
  await api?.close();
});

const cpu = (cpuUnits: number) => ({ cpu_units: cpuUnits, memory_mb: 128 });

async function completed(id: string, timeoutMs = 10_000) {
  return expectEventually(async () => {
    const job = await api.getJob(id);
    expect(job).toMatchObject({ id, status: 'completed' });
    return job;
  }, { timeoutMs });
}

describe('placement over two workers', () => {
  it('lists both workers with their capacity and nothing allocated', async () => {
    const workers = await listWorkers(api);
    expect(workers.map((w) => w.id).sort()).toEqual(['big-worker', 'small-worker']);
    expect(await workerView(api, 'small-worker')).toMatchObject({
      status: 'active',
      capacity: { max_concurrent_jobs: 4, max_cpu_units: 2, max_memory_mb: 1024 },
      allocated: NOTHING_ALLOCATED,
    });
    expect((await workerView(api, 'big-worker')).capacity.max_cpu_units).toBe(8);
  });

  it('puts a job on the worker with the least room left that fits it (best fit)', async () => {
    const fitsBoth = await api.submit(aJob({ resource_requirements: cpu(2) }));
    const fitsBigOnly = await api.submit(aJob({ resource_requirements: cpu(3) }));
    expect((await completed(fitsBoth.id)).worker_id).toBe('small-worker');
    expect((await completed(fitsBigOnly.id)).worker_id).toBe('big-worker');
  });

  it('spreads jobs that do not fit together: the small worker gets one, the big one the rest', async () => {
    const jobs = [];
    for (let i = 0; i < 4; i += 1) {
      jobs.push(await api.submit(aJob({ resource_requirements: cpu(2), payload: { duration_ms: 2000 } })));
    }
    await expectEventually(async () => {
      const [s, b] = [await workerView(api, 'small-worker'), await workerView(api, 'big-worker')];
      expect(s).toMatchObject({ allocated: { slots: 1, cpu_units: 2, memory_mb: 128 } });
      expect(s.running_jobs).toHaveLength(1);
      expect(b).toMatchObject({ allocated: { slots: 3, cpu_units: 6, memory_mb: 384 } });
      expect(b.running_jobs).toHaveLength(3);
    });
    for (const job of jobs) await completed(job.id);
    await expectEventually(async () => {
      for (const w of await listWorkers(api)) expect(w.allocated).toEqual(NOTHING_ALLOCATED);
    });
  });
});

describe('a worker killed with SIGKILL mid-run', () => {
  it('has its jobs failed with WORKER_LOST and retried on the other worker, where they complete, none lost or run twice at once', async () => {
    const retry = { max_attempts: 3, initial_delay_ms: 100, backoff_multiplier: 2 };
    const jobs = [];
    for (let i = 0; i < 4; i += 1) {
      jobs.push(await api.submit(aJob({ resource_requirements: cpu(1), payload: { duration_ms: 2000 }, retry_config: retry })));
    }
    // Best fit: two on the small worker (it has 2 cpu units), two on the big one.
    const onSmall = await expectEventually(async () => {
      const [s, b] = [await workerView(api, 'small-worker'), await workerView(api, 'big-worker')];
      expect(s.running_jobs).toHaveLength(2);
      expect(b.running_jobs).toHaveLength(2);
      return s.running_jobs;
    });

    small.kill('SIGKILL');
    await small.waitForExit();

    const done = await Promise.all(jobs.map((job) => completed(job.id, 15_000)));
    for (const job of done) {
      const logs = await jobLogs(api, job.id);
      const starts = attemptStarts(logs);
      if (onSmall.includes(job.id)) {
        expect(job).toMatchObject({ attempts: 2, worker_id: 'big-worker' });
        const lost = logs.find((l) => l.attempt === 1 && l.level === 'error');
        expect(lost?.message).toMatch(/^attempt 1 failed: worker small-worker missed its heartbeats/);
        expect(lost?.data).toMatchObject({ status: 'failed', error: { code: 'WORKER_LOST', worker_id: 'small-worker' } });
        expect(starts.get(1)?.workerId).toBe('small-worker');
        expect(starts.get(2)?.workerId).toBe('big-worker');
        // The second run began only after the first was declared over.
        expect(starts.get(2)!.at).toBeGreaterThanOrEqual(Date.parse(lost!.timestamp));
      } else {
        expect(job).toMatchObject({ attempts: 1, worker_id: 'big-worker' });
        expect([...starts.keys()]).toEqual([1]);
      }
    }

    expect(await workerView(api, 'small-worker')).toMatchObject({ status: 'lost', allocated: NOTHING_ALLOCATED, running_jobs: [] });
    await expectEventually(async () => expect((await workerView(api, 'big-worker')).allocated).toEqual(NOTHING_ALLOCATED));
  });
});

describe('a worker draining for longer than WORKER_LOST_SECONDS', () => {
  it('is not declared lost while it finishes its running job within the grace period', async () => {
    const drainer = await startWorkerProcess(space, {
      ...FAST_FAILURE,
      ...WORKER_SIZE,
      MAX_CPU_UNITS: '1',
      WORKER_ID: 'slow-drainer',
      SHUTDOWN_GRACE_MS: '6000',
    });
    const job = await api.submit(aJob({ resource_requirements: cpu(1), payload: { duration_ms: 3500 }, retry_config: { max_attempts: 3, initial_delay_ms: 100 } }));
    await expectEventually(async () => expect(await api.getJob(job.id)).toMatchObject({ status: 'running', worker_id: 'slow-drainer' }));
    drainer.kill('SIGTERM');
    const done = await completed(job.id, 15_000);
    const logs = await jobLogs(api, job.id);
    expect(logs.map((l) => l.message)).not.toContainEqual(expect.stringContaining('missed its heartbeats'));
    expect(done).toMatchObject({ attempts: 1, worker_id: 'slow-drainer' });
    await drainer.waitForExit(10_000);
    expect(await workerView(api, 'slow-drainer')).toMatchObject({ status: 'stopped' });
  });
});
