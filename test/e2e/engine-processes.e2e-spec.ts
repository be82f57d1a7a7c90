import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { aJob } from '../builders/job.builder.js';
import { attemptStarts, deleteRedisKeys, jobLogs, NOTHING_ALLOCATED, redisKeys, workerView } from '../support/engine.js';
import { freePort, startWorkerProcess, stopAllProcesses, type WorkerProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * The API (and scheduler) in the test process, workers in their own processes: timeouts and
 * cancels of running jobs across processes, a Redis that lost its queues, graceful shutdown.
 */

const HEARTBEAT = { HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: '10' };
const MAIN = 'main-worker';

let space: TestSpace;
let api: TestApp;
let main: WorkerProcess;
let mainMetricsPort: number;

beforeAll(async () => {
  space = await createTestSpace('engine_processes');
  api = await startTestApp(space, { ROLE: 'api', ...HEARTBEAT });
  mainMetricsPort = await freePort();
  main = await startWorkerProcess(space, { ...HEARTBEAT, MAX_CONCURRENT_JOBS: '4', MAX_CPU_UNITS: '4', WORKER_ID: MAIN, METRICS_PORT: String(mainMetricsPort) });
});

afterAll(async () => {
  await stopAllProcesses();
  await api?.close();
});

async function reaches(id: string, expected: Record<string, unknown>, timeoutMs = 10_000) {
  return expectEventually(async () => {
    const job = await api.getJob(id);
    expect(job).toMatchObject(expected);
    return job;
  }, { timeoutMs });
}

const allocatedOn = async (workerId: string) => (await workerView(api, workerId)).allocated;

describe('a worker process (ROLE=worker) with METRICS_PORT', () => {
  it('serves the metrics counted in its own process: run durations, queue waits, transitions', async () => {
    const job = await api.submit(aJob({ payload: { echo: { metrics: true } } }));
    await reaches(job.id, { status: 'completed', worker_id: MAIN });
    const metrics = await fetch(`http://127.0.0.1:${mainMetricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    const count = (name: string) => Number(text.match(new RegExp(`^${name}_count\\{[^}]*type="noop"[^}]*\\} (\\d+)`, 'm'))?.[1] ?? 0);
    expect(count('draconic_job_run_duration_seconds')).toBeGreaterThanOrEqual(1);
    expect(count('draconic_job_queue_wait_seconds')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^draconic_job_transitions_total\{type="noop",to="completed"\} [1-9]/m);
    expect(text).toMatch(/^draconic_jobs\{status="completed"\} [1-9]/m);

    const health = await fetch(`http://127.0.0.1:${mainMetricsPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', role: 'worker', error: {}, details: { database: { status: 'up' }, redis: { status: 'up' }, lease: { status: 'up' } } });
    expect((await fetch(`http://127.0.0.1:${mainMetricsPort}/jobs`)).status).toBe(404);
  });
});

describe('timeout', () => {
  it('times out a handler that never returns, and releases its resources on time', async () => {
    const job = await api.submit(
      aJob({ payload: { duration_ms: 60_000, ignore_signal: true }, timeout_seconds: 1, retry_config: { max_attempts: 1 } }),
    );
    await reaches(job.id, { status: 'running', worker_id: MAIN });
    const timedOut = await reaches(job.id, { status: 'timeout' }, 5000);
    expect(timedOut).toMatchObject({ attempts: 1, result: null, error: { code: 'TIMEOUT' } });
    expect(timedOut.error.message).toContain('timeout_seconds (1 s)');
    // The handler goes on for a minute: the slot, cpu and memory are free anyway.
    await expectEventually(async () => expect(await allocatedOn(MAIN)).toEqual(NOTHING_ALLOCATED), { timeoutMs: 2000 });
  });
});

describe('cancel of a job running in another process', () => {
  it('cancels at once and the worker gives its resources back within a couple of seconds', async () => {
    const job = await api.submit(aJob({ payload: { duration_ms: 60_000 }, resource_requirements: { cpu_units: 2, memory_mb: 256 } }));
    await reaches(job.id, { status: 'running', worker_id: MAIN });
    expect(await allocatedOn(MAIN)).toEqual({ slots: 1, cpu_units: 2, memory_mb: 256 });

    const response = await api.patch(`/jobs/${job.id}/cancel`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: job.id, status: 'cancelled', error: { code: 'CANCELLED_BY_USER' } });
    await expectEventually(async () => expect(await allocatedOn(MAIN)).toEqual(NOTHING_ALLOCATED), { timeoutMs: 2500 });
    expect(await api.getJob(job.id)).toMatchObject({ status: 'cancelled', result: null, error: { code: 'CANCELLED_BY_USER' } });
  });

  it('keeps the resources of a handler that ignores the signal until the grace period ends, then releases them', async () => {
    const job = await api.submit(aJob({ payload: { duration_ms: 60_000, ignore_signal: true } }));
    await reaches(job.id, { status: 'running', worker_id: MAIN });

    const response = await api.patch(`/jobs/${job.id}/cancel`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED_BY_USER' } });
    // The handler still runs: its booking stays until it stops or the grace period (5 s) ends.
    expect((await allocatedOn(MAIN)).slots).toBe(1);
    await expectEventually(async () => expect(await allocatedOn(MAIN)).toEqual(NOTHING_ALLOCATED), { timeoutMs: 10_000 });
    expect((await api.getJob(job.id)).status).toBe('cancelled');
  });
});

describe('graceful shutdown (SIGTERM)', () => {
  let drains: WorkerProcess;
  let releases: WorkerProcess;

  beforeAll(async () => {
    // Smaller than the main worker, so best fit puts a 1-cpu job on them first (g1 before g2 on a tie).
    const size = { MAX_CONCURRENT_JOBS: '2', MAX_CPU_UNITS: '1' };
    [drains, releases] = await Promise.all([
      startWorkerProcess(space, { ...HEARTBEAT, ...size, WORKER_ID: 'g1-drains', SHUTDOWN_GRACE_MS: '3000' }),
      startWorkerProcess(space, { ...HEARTBEAT, ...size, WORKER_ID: 'g2-releases', SHUTDOWN_GRACE_MS: '500' }),
    ]);
  });

  it('lets a running job finish within the grace period, then stops', async () => {
    const job = await api.submit(aJob({ payload: { duration_ms: 1500 } }));
    await reaches(job.id, { status: 'running', worker_id: 'g1-drains' });
    const sigtermAt = Date.now();
    drains.kill('SIGTERM');

    const done = await reaches(job.id, { status: 'completed' });
    expect(done).toMatchObject({ attempts: 1, worker_id: 'g1-drains', error: null });
    expect(Date.parse(done.completed_at)).toBeGreaterThan(sigtermAt); // it was still running when asked to stop
    await drains.waitForExit();
    expect(await workerView(api, 'g1-drains')).toMatchObject({ status: 'stopped', allocated: NOTHING_ALLOCATED });
    expect(await redisKeys(`${space.redisPrefix}:worker:g1-drains`)).toEqual([]); // its Bull queue is gone
    expect(await redisKeys(`${space.redisPrefix}:worker:${MAIN}`)).not.toEqual([]); // a running worker's is not
  });

  it('releases a job still running after the grace period with WORKER_SHUTDOWN, to be retried on another worker', async () => {
    const job = await api.submit(aJob({ payload: { duration_ms: 60_000 }, retry_config: { max_attempts: 3, initial_delay_ms: 100 } }));
    await reaches(job.id, { status: 'running', worker_id: 'g2-releases' });
    releases.kill('SIGTERM');

    await reaches(job.id, { status: 'running', attempts: 2, worker_id: MAIN });
    const logs = await jobLogs(api, job.id);
    const released = logs.find((l) => l.attempt === 1 && l.level === 'error');
    expect(released?.message).toMatch(/^attempt 1 failed: worker g2-releases stopped before the job finished/);
    expect(released?.data).toMatchObject({ status: 'failed', error: { code: 'WORKER_SHUTDOWN', worker_id: 'g2-releases' } });
    // The released run is given back (attempt_base + 1): the job still has its three runs after it.
    expect(logs.map((l) => l.message)).toContainEqual(expect.stringMatching(/^retry 2 of 4 scheduled at /));
    const starts = attemptStarts(logs);
    expect(starts.get(1)?.workerId).toBe('g2-releases');
    expect(starts.get(2)!.at).toBeGreaterThanOrEqual(Date.parse(released!.timestamp));

    await releases.waitForExit();
    expect(await workerView(api, 'g2-releases')).toMatchObject({ status: 'stopped', allocated: NOTHING_ALLOCATED });

    expect((await api.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
    await expectEventually(async () => expect(await allocatedOn(MAIN)).toEqual(NOTHING_ALLOCATED));
  });
});

describe('Redis losing its queues', () => {
  it('still completes jobs placed on a worker whose Bull queue was deleted before it took them', async () => {
    main.kill('SIGSTOP'); // the worker takes nothing, but stays registered
    try {
      const jobs = [];
      for (let i = 0; i < 3; i += 1) jobs.push(await api.submit(aJob({ payload: { echo: { i } } })));
      const ids = jobs.map((j) => j.id).sort();
      await expectEventually(async () => expect([...(await workerView(api, MAIN)).placed_jobs].sort()).toEqual(ids));

      expect(await deleteRedisKeys(space.redisPrefix)).toBeGreaterThan(0);
      main.kill('SIGCONT');

      for (const [i, job] of jobs.entries()) {
        expect(await reaches(job.id, { status: 'completed' }, 15_000)).toMatchObject({ attempts: 1, worker_id: MAIN, result: { ok: true, echo: { i } } });
      }
      await expectEventually(async () => expect(await allocatedOn(MAIN)).toEqual(NOTHING_ALLOCATED));
    } finally {
      main.kill('SIGCONT');
    }
  });
});
