import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { JobEventBus, type JobEvent } from '../../src/events/job-event-bus.js';
import { aJob } from '../builders/job.builder.js';
import { attemptStarts, expectNoOverlap, jobLogs, NOTHING_ALLOCATED, workerView } from '../support/engine.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * The engine in one process (ROLE=all, one worker): priority order, retries with backoff, and
 * resource-aware placement. Each describe block has its own database and Redis prefix.
 */

async function settled(app: TestApp, id: string, status = 'completed', timeoutMs = 10_000) {
  return expectEventually(async () => {
    const job = await app.getJob(id);
    expect(job).toMatchObject({ id, status });
    return job;
  }, { timeoutMs });
}

describe('one worker with one slot', () => {
  let app: TestApp;
  const events: JobEvent[] = [];

  beforeAll(async () => {
    const space = await createTestSpace('engine_one_slot');
    app = await startTestApp(space, { MAX_CONCURRENT_JOBS: '1', WORKER_ID: 'solo' });
    app.app.get(JobEventBus).subscribe((event) => events.push(event));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('starts waiting jobs by priority (critical, high, normal, low), oldest first within a priority', async () => {
    const blocker = await app.submit(aJob({ priority: 'low', payload: { duration_ms: 60_000 } }));
    await settled(app, blocker.id, 'running');

    const low = await app.submit(aJob({ priority: 'low' }));
    const olderNormal = await app.submit(aJob({ priority: 'normal' }));
    const high = await app.submit(aJob({ priority: 'high' }));
    const newerNormal = await app.submit(aJob({ priority: 'normal' }));
    const critical = await app.submit(aJob({ priority: 'critical' }));
    const waiting = [low, olderNormal, high, newerNormal, critical];

    // All of them wait, and say why.
    await expectEventually(async () => {
      for (const job of waiting) {
        expect(await app.getJob(job.id)).toMatchObject({
          status: 'ready',
          waiting_reason: { code: 'INSUFFICIENT_RESOURCES', message: '0/1 workers fit: 1 no free slot' },
        });
      }
    });

    expect((await app.patch(`/jobs/${blocker.id}/cancel`)).status).toBe(200);
    const done = await Promise.all(waiting.map((job) => settled(app, job.id)));
    const byStart = [...done].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
    expect(byStart.map((j) => j.id)).toEqual([critical.id, high.id, olderNormal.id, newerNormal.id, low.id]);
    expectNoOverlap(done);
  });

  it('retries a failing job with exponential backoff until it completes (≥200 ms, then ≥400 ms between attempts)', async () => {
    const job = await app.submit(
      aJob({ payload: { fail_attempts: 2 }, retry_config: { max_attempts: 3, initial_delay_ms: 200, backoff_multiplier: 2 } }),
    );
    const done = await settled(app, job.id);
    expect(done).toMatchObject({ attempts: 3, result: { ok: true }, error: null });

    const starts = attemptStarts(await jobLogs(app, job.id));
    expect([...starts.keys()]).toEqual([1, 2, 3]);
    expect(starts.get(2)!.at - starts.get(1)!.at).toBeGreaterThanOrEqual(200);
    expect(starts.get(3)!.at - starts.get(2)!.at).toBeGreaterThanOrEqual(400);
  });

  it('fails for good once the attempts are exhausted, with every attempt and decision in the logs and events', async () => {
    const job = await app.submit(aJob({ payload: { fail_attempts: 5 }, retry_config: { max_attempts: 2, initial_delay_ms: 100 } }));
    const failed = await settled(app, job.id, 'failed');
    expect(failed).toMatchObject({
      attempts: 2,
      result: null,
      next_run_at: null,
      waiting_reason: null,
      error: { code: 'HANDLER_ERROR', message: 'noop: failing attempt 2 of the first 5 on purpose' },
    });

    const logs = await jobLogs(app, job.id);
    const lines = logs.map((l) => [l.attempt, l.level, l.message.replace(/ at \d{4}-\S+$/, ' at <time>')]);
    expect(lines).toEqual([
      [0, 'info', expect.any(String)], // submitted
      [1, 'info', 'attempt 1 started on worker solo'],
      [1, 'error', 'attempt 1 failed: noop: failing attempt 1 of the first 5 on purpose'],
      [1, 'warn', 'retry 2 of 2 scheduled at <time>'],
      [1, 'info', 'retry due: job is ready'],
      [2, 'info', 'attempt 2 started on worker solo'],
      [2, 'error', 'attempt 2 failed: noop: failing attempt 2 of the first 5 on purpose'],
    ]);

    await expectEventually(() => expect(events.filter((e) => e.jobId === job.id).at(-1)?.event).toBe('job_failed'));
    const published = events.filter((e) => e.jobId === job.id);
    expect(published.map((e) => `${e.event}:${e.data.status}`)).toEqual([
      'job_created:ready',
      'job_started:running',
      'job_failed:failed',
      'job_retry_scheduled:pending',
      'job_ready:ready',
      'job_started:running',
      'job_failed:failed',
    ]);
    expect(published.map((e) => e.data.attempt)).toEqual([0, 1, 1, 1, 1, 2, 2]);
  });

  it('fails at once, attempts left or not, when the handler throws a NonRetryableError', async () => {
    const job = await app.submit(aJob({ payload: { fail_permanently: true }, retry_config: { max_attempts: 5, initial_delay_ms: 100 } }));
    const failed = await settled(app, job.id, 'failed');
    expect(failed).toMatchObject({
      attempts: 1,
      next_run_at: null,
      error: { code: 'HANDLER_ERROR', name: 'NonRetryableError', retryable: false, message: 'noop: failing for good on purpose (fail_permanently)' },
    });
    await expectEventually(() => expect(events.filter((e) => e.jobId === job.id).at(-1)?.event).toBe('job_failed'));
    expect(events.filter((e) => e.jobId === job.id).map((e) => e.event)).toEqual(['job_created', 'job_started', 'job_failed']);
  });

  it('leaves nothing allocated once every job is over', async () => {
    await expectEventually(async () => expect((await workerView(app, 'solo')).allocated).toEqual(NOTHING_ALLOCATED));
  });
});

describe('resources of one worker (4 slots, 4 cpu units, 1024 MB)', () => {
  let app: TestApp;

  beforeAll(async () => {
    const space = await createTestSpace('engine_resources');
    app = await startTestApp(space, { MAX_CONCURRENT_JOBS: '4', MAX_CPU_UNITS: '4', MAX_MEMORY_MB: '1024', WORKER_ID: 'quad' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it.each([
    [{ cpu_units: 5, memory_mb: 128 }, 'resource_requirements.cpu_units 5 exceeds MAX_CPU_UNITS 4'],
    [{ cpu_units: 1, memory_mb: 1025 }, 'resource_requirements.memory_mb 1025 exceeds MAX_MEMORY_MB 1024'],
  ])('refuses at submit a job bigger than any worker can be (%j): 400', async (requirements, message) => {
    const response = await app.post('/jobs', aJob({ resource_requirements: requirements }));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(JSON.stringify(response.body.message)).toContain(message);
  });

  it('never overlaps jobs whose requirements cannot share the worker, and the ledger returns to zero', async () => {
    const byCpu = [];
    for (let i = 0; i < 3; i += 1) {
      byCpu.push(await app.submit(aJob({ resource_requirements: { cpu_units: 3, memory_mb: 128 }, payload: { duration_ms: 200 } })));
    }
    const byMemory = [];
    for (let i = 0; i < 2; i += 1) {
      byMemory.push(await app.submit(aJob({ resource_requirements: { cpu_units: 1, memory_mb: 600 }, payload: { duration_ms: 200 } })));
    }
    const cpuDone = await Promise.all(byCpu.map((job) => settled(app, job.id)));
    const memoryDone = await Promise.all(byMemory.map((job) => settled(app, job.id)));
    expectNoOverlap(cpuDone);
    expectNoOverlap(memoryDone);
    await expectEventually(async () => expect((await workerView(app, 'quad')).allocated).toEqual(NOTHING_ALLOCATED));
  });

  it('keeps a job that fits the limits but not the free room waiting with INSUFFICIENT_RESOURCES, then runs it', async () => {
    const big = await app.submit(aJob({ resource_requirements: { cpu_units: 3, memory_mb: 600 }, payload: { duration_ms: 60_000 } }));
    await settled(app, big.id, 'running');
    expect((await workerView(app, 'quad')).allocated).toEqual({ slots: 1, cpu_units: 3, memory_mb: 600 });

    const needsCpu = await app.submit(aJob({ resource_requirements: { cpu_units: 2, memory_mb: 128 } }));
    const needsMemory = await app.submit(aJob({ resource_requirements: { cpu_units: 1, memory_mb: 512 } }));
    await expectEventually(async () => {
      expect(await app.getJob(needsCpu.id)).toMatchObject({
        status: 'ready',
        waiting_reason: { code: 'INSUFFICIENT_RESOURCES', message: '0/1 workers fit: 1 insufficient cpu_units' },
      });
      expect(await app.getJob(needsMemory.id)).toMatchObject({
        status: 'ready',
        waiting_reason: { code: 'INSUFFICIENT_RESOURCES', message: '0/1 workers fit: 1 insufficient memory_mb' },
      });
    });
    // A small job still fits beside the big one.
    const small = await app.submit(aJob({ resource_requirements: { cpu_units: 1, memory_mb: 128 } }));
    await settled(app, small.id);

    expect((await app.patch(`/jobs/${big.id}/cancel`)).status).toBe(200);
    for (const job of [needsCpu, needsMemory]) expect(await settled(app, job.id)).toMatchObject({ waiting_reason: null });
    await expectEventually(async () => expect((await workerView(app, 'quad')).allocated).toEqual(NOTHING_ALLOCATED));
  });
});

describe('a job left running on a worker that stopped', () => {
  let app: TestApp;
  let db: pg.Client;

  beforeAll(async () => {
    const space = await createTestSpace('engine_orphans');
    app = await startTestApp(space, { WORKER_ID: 'alive' });
    db = new pg.Client({ connectionString: space.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  it('is failed as lost by the sweep and retried on a live worker (nothing finishes it otherwise)', async () => {
    // The state a hand-over in the moment a worker began to stop can leave: running, booked on a
    // worker that is gone, which no heartbeat check looks at any more.
    await db.query(
      `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb, stopped_at)
       VALUES ('gone', 'elsewhere', 1, 'stopped', 4, 4, 1024, now())`,
    );
    const gate = await app.submit(aJob({ payload: { duration_ms: 60_000 } }));
    const job = await app.submit(aJob({ depends_on: [gate.id], retry_config: { max_attempts: 2, initial_delay_ms: 0 } }));
    await db.query(
      `UPDATE jobs SET status = 'running', allocated = true, worker_id = 'gone', attempts = 1, started_at = now(), pending_dependencies = 0
       WHERE id = $1`,
      [job.id],
    );

    const done = await settled(app, job.id, 'completed', 10_000);
    expect(done).toMatchObject({ attempts: 2, worker_id: 'alive' });
    const lost = (await jobLogs(app, job.id)).find((l) => l.attempt === 1 && l.level === 'error');
    expect(lost?.message).toMatch(/worker gone stopped while the job was running/);
    expect(lost?.data).toMatchObject({ status: 'failed', error: { code: 'WORKER_LOST', worker_id: 'gone' } });
    expect((await app.patch(`/jobs/${gate.id}/cancel`)).status).toBe(200);
  });

  it('is failed as lost when its worker registered again since it started (killed and restarted under the same WORKER_ID)', async () => {
    // The worker row is active and heartbeating, but it belongs to a new process that never heard of the
    // job. One slot, which the run it did start fills: the retry goes to the live worker of this app.
    await db.query(
      `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb, started_at, last_heartbeat_at)
       VALUES ('reborn', 'elsewhere', 2, 'active', 1, 4, 1024, now(), now() + interval '1 hour')`,
    );
    const gate = await app.submit(aJob({ payload: { duration_ms: 60_000 } }));
    const job = await app.submit(aJob({ depends_on: [gate.id], retry_config: { max_attempts: 2, initial_delay_ms: 0 } }));
    const untouched = await app.submit(aJob({ depends_on: [gate.id] }));
    await db.query(
      `UPDATE jobs SET status = 'running', allocated = true, worker_id = 'reborn', attempts = 1, pending_dependencies = 0,
              started_at = CASE WHEN id = $1 THEN now() - interval '1 minute' ELSE now() + interval '1 minute' END
       WHERE id = ANY($2::uuid[])`,
      [job.id, [job.id, untouched.id]],
    );

    const done = await settled(app, job.id, 'completed', 10_000);
    expect(done).toMatchObject({ attempts: 2, worker_id: 'alive' });
    const lost = (await jobLogs(app, job.id)).find((l) => l.attempt === 1 && l.level === 'error');
    expect(lost?.data).toMatchObject({ status: 'failed', error: { code: 'WORKER_LOST', worker_id: 'reborn' } });
    expect(lost?.message).toMatch(/worker reborn restarted while the job was running/);
    // A run the new process started itself (after it registered) is left alone.
    expect(await app.getJob(untouched.id)).toMatchObject({ status: 'running', worker_id: 'reborn' });
    expect((await app.patch(`/jobs/${gate.id}/cancel`)).status).toBe(200);
  });
});
