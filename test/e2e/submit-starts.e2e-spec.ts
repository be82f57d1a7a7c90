import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jobLogs, listWorkers, NOTHING_ALLOCATED } from '../support/engine.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

// A submit in the process that leads the scheduler and runs a worker: its own transaction places and
// starts the job when nothing is ready before it and no queue rule is to be weighed.
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('submit_starts'), { MAX_CONCURRENT_JOBS: '20', MAX_CPU_UNITS: '8', MAX_MEMORY_MB: '4096' });
});

afterAll(async () => {
  await app?.close();
});

/** The job's start is stamped with its submit's instant: PostgreSQL's now() is the transaction's. */
const startedWithItsSubmit = (job: any) => job.started_at === job.created_at;

async function submit(body: Record<string, unknown>) {
  const response = await app.post('/jobs', body);
  expect(response.status).toBe(201);
  return response.body;
}

const finished = (id: string) =>
  expectEventually(async () => {
    const job = await app.getJob(id);
    expect(['completed', 'failed', 'timeout', 'cancelled']).toContain(job.status);
    return job;
  });

const nothingBooked = () =>
  expectEventually(async () => {
    for (const worker of await listWorkers(app)) expect(worker.allocated).toEqual(NOTHING_ALLOCATED);
  });

describe('a job submitted to an idle scheduler', () => {
  it('starts in its submit’s own commit; the 201 shows it as inserted, and job_created comes before job_started', async () => {
    await finished((await submit({ type: 'noop' })).id); // the first pass has run: nothing is ready
    const jobs = [];
    for (let i = 0; i < 5; i++) {
      const created = await submit({ type: 'noop' });
      expect(created.status).toBe('ready');
      jobs.push(await finished(created.id));
    }
    expect(jobs.map((j) => j.status)).toEqual(Array(5).fill('completed'));
    // A pass of the reconciler's sweep may run at the instant of a submit: that one is left to it.
    expect(jobs.filter(startedWithItsSubmit).length).toBeGreaterThanOrEqual(4);
    const sameCommit = jobs.find(startedWithItsSubmit);
    const events = (await jobLogs(app, sameCommit.id)).filter((l) => l.data?.sequence !== undefined).map((l) => l.message);
    expect(events.slice(0, 2)).toEqual(['job submitted as ready', `attempt 1 started on worker ${sameCommit.worker_id}`]);
    await nothingBooked();
  });

  it('leaves a job that does not fit now to the placement pass, which starts it once there is room', async () => {
    const first = await submit({ type: 'noop', resource_requirements: { cpu_units: 8 }, payload: { duration_ms: 300 } });
    const second = await submit({ type: 'noop', resource_requirements: { cpu_units: 8 } });
    const [a, b] = [await finished(first.id), await finished(second.id)];
    expect([a.status, b.status]).toEqual(['completed', 'completed']);
    expect(startedWithItsSubmit(b)).toBe(false);
    expect(Date.parse(b.started_at)).toBeGreaterThanOrEqual(Date.parse(a.completed_at));
    await nothingBooked();
  });

  it('is left to the placement pass when a queue rule is to be weighed, and the rule holds', async () => {
    expect((await app.patch('/queues/noop', { concurrency_limit: 1 })).status).toBe(200);
    try {
      const submitted = [];
      for (let i = 0; i < 3; i++) submitted.push(await submit({ type: 'noop', payload: { duration_ms: 100 } }));
      const jobs = [];
      for (const job of submitted) jobs.push(await finished(job.id));
      for (const job of jobs) expect({ status: job.status, sameCommit: startedWithItsSubmit(job) }).toEqual({ status: 'completed', sameCommit: false });
      const runs = jobs.map((j) => [Date.parse(j.started_at), Date.parse(j.completed_at)]).sort((p, q) => p[0]! - q[0]!);
      for (let i = 1; i < runs.length; i++) expect(runs[i]![0]).toBeGreaterThanOrEqual(runs[i - 1]![1]!);
    } finally {
      expect((await app.patch('/queues/noop', { concurrency_limit: null })).status).toBe(200);
    }
  });
});
