import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { jobLogs } from '../support/engine.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/** Delayed jobs (DESIGN §10) on a single worker slot, so that the order of ready jobs shows. */

interface Update {
  event: string;
  job_id: string;
  data: Record<string, any>;
}

let space: TestSpace;
let app: TestApp;
let socket: Socket;
const updates: Update[] = [];

beforeAll(async () => {
  space = await createTestSpace('delayed');
  app = await startTestApp(space, { MAX_CONCURRENT_JOBS: '1', WORKER_ID: 'solo' });
  socket = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false });
  socket.on('job_update', (u: Update) => updates.push(u));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}, 60_000);

afterAll(async () => {
  socket?.close();
  await app?.close();
});

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const eventsOf = (id: string) => updates.filter((u) => u.job_id === id).map((u) => u.event);
const eventOf = (id: string, event: string) => updates.find((u) => u.job_id === id && u.event === event);
/** The job reached `status` in the table, and its event for it reached the socket (it leaves after the commit). */
const finished = async (id: string, status = 'completed') =>
  expectEventually(async () => {
    const job = await app.getJob(id);
    expect(job.status).toBe(status);
    expect(eventsOf(id)).toContain(`job_${status}`);
    return job;
  }, { timeoutMs: 15_000 });

/** When the job became ready: its job_ready event's timestamp (the promotion's commit time). */
const readyAt = (id: string) => Date.parse(eventOf(id, 'job_ready')!.data.timestamp);

describe('POST /jobs with run_at', () => {
  it('waits pending (SCHEDULED) and starts no earlier than run_at, and soon after it', async () => {
    const runAt = inMs(1500);
    const submitted = await app.submit({ type: 'noop', run_at: runAt });
    expect(submitted).toMatchObject({
      status: 'pending',
      run_at: runAt,
      next_run_at: runAt,
      waiting_reason: { code: 'SCHEDULED', until: runAt },
    });
    expect((await app.getJob(submitted.id)).status).toBe('pending');

    const done = await finished(submitted.id);
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(runAt));
    expect(done).toMatchObject({ run_at: runAt, next_run_at: null, waiting_reason: null });
    // Promoted by the leader's timer (within 100 ms; the once-a-second sweep would often be later).
    await expectEventually(() => expect(eventOf(submitted.id, 'job_ready')).toBeDefined());
    const lateMs = readyAt(submitted.id) - Date.parse(runAt);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(300);
    expect(eventsOf(submitted.id)).toEqual(['job_created', 'job_ready', 'job_started', 'job_completed']);
    expect(eventOf(submitted.id, 'job_created')!.data).toMatchObject({ status: 'pending', next_run_at: runAt });
    expect((await jobLogs(app, submitted.id)).map((l) => l.message)).toContain('run_at reached: job is ready');
  });

  it('takes an offset and stores the instant in UTC', async () => {
    const at = new Date(Date.now() + 60_000);
    at.setUTCMilliseconds(0);
    const local = new Date(at.getTime() + 2 * 3600_000).toISOString().replace('.000Z', '+02:00');
    const job = await app.submit({ type: 'noop', run_at: local });
    expect(job.run_at).toBe(at.toISOString());
    await app.patch(`/jobs/${job.id}/cancel`);
  });

  it('runs a past run_at as soon as possible: ready at once', async () => {
    const job = await app.submit({ type: 'noop', run_at: '2020-01-01T00:00:00Z' });
    expect(job.status).not.toBe('pending');
    expect(job.run_at).toBe('2020-01-01T00:00:00.000Z');
    expect(job.waiting_reason?.code).not.toBe('SCHEDULED');
    await finished(job.id);
  });
});

describe('POST /jobs with delay_ms', () => {
  it('waits delay_ms from the submit, then runs', async () => {
    const before = Date.now();
    const job = await app.submit({ type: 'noop', delay_ms: 1000 });
    expect(job.status).toBe('pending');
    const runAt = Date.parse(job.run_at);
    expect(runAt).toBeGreaterThanOrEqual(before + 1000);
    expect(runAt).toBeLessThanOrEqual(Date.now() + 1000);
    expect(job.next_run_at).toBe(job.run_at);
    const done = await finished(job.id);
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(runAt);
  });

  it('runs delay_ms 0 at once', async () => {
    const job = await app.submit({ type: 'noop', delay_ms: 0 });
    expect(job.status).not.toBe('pending');
    await finished(job.id);
  });
});

describe('delayed jobs with dependencies', () => {
  it('are blocked first, then pending (SCHEDULED) while run_at is ahead, then ready', async () => {
    const first = await app.submit({ type: 'noop', payload: { duration_ms: 200 } });
    const runAt = inMs(2000);
    const delayed = await app.submit({ type: 'noop', depends_on: [first.id], run_at: runAt });
    expect(delayed).toMatchObject({ status: 'blocked', run_at: runAt, waiting_reason: { code: 'WAITING_FOR_DEPENDENCIES' } });

    await finished(first.id);
    const waiting = await expectEventually(async () => {
      const job = await app.getJob(delayed.id);
      expect(job.status).toBe('pending');
      return job;
    });
    expect(waiting).toMatchObject({ next_run_at: runAt, waiting_reason: { code: 'SCHEDULED', until: runAt } });

    const done = await finished(delayed.id);
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(runAt));
    expect(readyAt(delayed.id) - Date.parse(runAt)).toBeLessThan(300);
    expect(eventsOf(delayed.id)).toEqual(['job_created', 'job_scheduled', 'job_ready', 'job_started', 'job_completed']);
    expect(eventOf(delayed.id, 'job_scheduled')!.data).toMatchObject({ status: 'pending', next_run_at: runAt });
  });

  it('go straight to ready when run_at has passed by the time the dependencies complete', async () => {
    const first = await app.submit({ type: 'noop', payload: { duration_ms: 600 } });
    const delayed = await app.submit({ type: 'noop', depends_on: [first.id], delay_ms: 100 });
    expect(delayed.status).toBe('blocked');
    await finished(delayed.id);
    expect(eventsOf(delayed.id)).toEqual(['job_created', 'job_ready', 'job_started', 'job_completed']);
  });

  it('are pending at submit when every dependency already completed', async () => {
    const first = await app.submit({ type: 'noop' });
    await finished(first.id);
    const delayed = await app.submit({ type: 'noop', depends_on: [first.id], delay_ms: 60_000 });
    expect(delayed).toMatchObject({ status: 'pending', waiting_reason: { code: 'SCHEDULED' } });
    await app.patch(`/jobs/${delayed.id}/cancel`);
  });
});

describe('cancel before due', () => {
  it('cancels the delayed job and everything downstream; it never runs', async () => {
    const delayed = await app.submit({ type: 'noop', delay_ms: 800 });
    const after = await app.submit({ type: 'noop', depends_on: [delayed.id] });
    const cancelled = await app.patch(`/jobs/${delayed.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', next_run_at: null, waiting_reason: null, error: { code: 'CANCELLED_BY_USER' } });
    expect(await app.getJob(after.id)).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED', dependency_id: delayed.id } });

    await new Promise((resolve) => setTimeout(resolve, 1200)); // past its run_at: nothing may wake it
    const job = await app.getJob(delayed.id);
    expect(job).toMatchObject({ status: 'cancelled', started_at: null, attempts: 0 });
    expect(eventsOf(delayed.id)).toEqual(['job_created', 'job_cancelled']);
  });
});

describe('retry of a delayed job cancelled before due', () => {
  it('waits pending for its run_at again, then runs', async () => {
    const runAt = inMs(1500);
    const job = await app.submit({ type: 'noop', run_at: runAt });
    await app.patch(`/jobs/${job.id}/cancel`);
    const retried = await app.post(`/jobs/${job.id}/retry`, {});
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'pending', next_run_at: runAt, waiting_reason: { code: 'SCHEDULED', until: runAt } });
    const done = await finished(job.id);
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(runAt));
    expect(eventsOf(job.id)).toEqual(['job_created', 'job_cancelled', 'job_scheduled', 'job_ready', 'job_started', 'job_completed']);
  });
});

describe('idempotency keys', () => {
  it('return the first delayed job on a repeat', async () => {
    const first = await app.post('/jobs', { type: 'noop', delay_ms: 60_000, idempotency_key: 'delayed-once' });
    const again = await app.post('/jobs', { type: 'noop', delay_ms: 1, idempotency_key: 'delayed-once' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, run_at: first.body.run_at, status: 'pending' });
    await app.patch(`/jobs/${first.body.id}/cancel`);
  });
});

describe('order among equal priorities', () => {
  it('starts the job due earliest first, not the one submitted first', async () => {
    const busy = await app.submit({ type: 'noop', payload: { duration_ms: 2500 } });
    await expectEventually(async () => expect((await app.getJob(busy.id)).status).toBe('running'));
    const dueLast = await app.submit({ type: 'noop', delay_ms: 600 });
    const dueSecond = await app.submit({ type: 'noop', delay_ms: 300 });
    const dueFirst = await app.submit({ type: 'noop' }); // due at its submit: before both run_at
    const urgent = await app.submit({ type: 'noop', priority: 'high', delay_ms: 900 });
    const jobs = await Promise.all([urgent, dueFirst, dueSecond, dueLast].map((j) => finished(j.id)));
    const starts = jobs.map((j) => Date.parse(j.started_at));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });
});

describe('POST /jobs/batch items', () => {
  it('take run_at and delay_ms, with refs', async () => {
    const runAt = inMs(1200);
    const response = await app.post('/jobs/batch', {
      jobs: [
        { ref: 'now', type: 'noop' },
        { ref: 'at', type: 'noop', run_at: runAt },
        { ref: 'later', type: 'noop', delay_ms: 60_000 },
        { ref: 'after', type: 'noop', depends_on: ['at'], delay_ms: 500 },
      ],
    });
    expect(response.status).toBe(201);
    const [now, at, later, after] = response.body.items;
    expect(now.status).not.toBe('pending');
    expect(at).toMatchObject({ status: 'pending', run_at: runAt, waiting_reason: { code: 'SCHEDULED', until: runAt } });
    expect(later).toMatchObject({ status: 'pending', waiting_reason: { code: 'SCHEDULED' } });
    expect(after).toMatchObject({ status: 'blocked', waiting_reason: { code: 'WAITING_FOR_DEPENDENCIES' } });

    const done = await finished(at.id);
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(runAt));
    await finished(after.id);
    await app.patch(`/jobs/${later.id}/cancel`);
  });
});

describe('bad input', () => {
  const tenYearsAndADay = () => {
    const at = new Date();
    at.setUTCFullYear(at.getUTCFullYear() + 10);
    return new Date(at.getTime() + 86_400_000).toISOString();
  };

  it.each([
    ['run_at without a zone', { run_at: '2030-01-15T09:00:00' }, 'run_at', /no time zone/],
    ['run_at that is not a date', { run_at: 'tomorrow' }, 'run_at', /ISO-8601/],
    ['run_at on a day that does not exist', { run_at: '2030-02-30T09:00:00Z' }, 'run_at', /does not exist/],
    ['run_at as a number', { run_at: 1_900_000_000_000 }, 'run_at', /string/],
    ['run_at more than 10 years ahead', { run_at: tenYearsAndADay() }, 'run_at', /more than 10 years ahead/],
    ['both run_at and delay_ms', { run_at: '2030-01-15T09:00:00Z', delay_ms: 1000 }, 'delay_ms', /together with run_at/],
    ['a negative delay', { delay_ms: -1 }, 'delay_ms', /less than 0/],
    ['a fractional delay', { delay_ms: 1.5 }, 'delay_ms', /integer/],
    ['a delay of more than 10 years', { delay_ms: 11 * 366 * 86_400_000 }, 'delay_ms', /more than 10 years ahead/],
    ['runAt instead of run_at', { runAt: '2030-01-15T09:00:00Z' }, 'runAt', /did you mean "run_at"/],
  ])('POST /jobs refuses %s with a 400 naming the field', async (_, fields, field, message) => {
    const response = await app.post('/jobs', { type: 'noop', ...fields });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(response.body.details).toEqual([{ field, message: expect.stringMatching(message) }]);
    expect(JSON.stringify(response.body.message)).toContain(field);
  });

  it('POST /jobs/batch names the item and writes nothing', async () => {
    const before = (await app.get('/jobs?limit=200')).body.items.length;
    const response = await app.post('/jobs/batch', {
      jobs: [
        { ref: 'ok', type: 'noop', delay_ms: 100 },
        { type: 'noop', run_at: '2030-01-15T09:00:00', depends_on: ['ok'] },
        { type: 'noop', run_at: '2030-01-15T09:00:00Z', delay_ms: 5 },
        { type: 'noop', delay_ms: -5 },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(response.body.details.map((d: { field: string }) => d.field)).toEqual(['jobs[1].run_at', 'jobs[2].delay_ms', 'jobs[3].delay_ms']);
    expect((await app.get('/jobs?limit=200')).body.items.length).toBe(before);
  });
});
