import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { aJob } from '../builders/job.builder.js';
import { JobStartsRepository } from '../../src/jobs/job-starts.repository.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;
let databaseUrl: string;

beforeAll(async () => {
  const space = await createTestSpace('rerun');
  databaseUrl = space.databaseUrl;
  app = await startTestApp(space, { MAX_CONCURRENT_JOBS: '20', MAX_CPU_UNITS: '20', MAX_MEMORY_MB: '10000' });
});

afterAll(async () => {
  await app?.close();
});

/** A job that fails its first run for good (one run allowed), then completes when run again. */
const failingOnce = (extra: Record<string, unknown> = {}) => ({
  type: 'noop',
  payload: { fail_attempts: 1, ...((extra.payload as object) ?? {}) },
  retry_config: { max_attempts: 1 },
  ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'payload')),
});

async function batch(jobs: Array<Record<string, unknown>>): Promise<any[]> {
  const response = await app.post('/jobs/batch', { jobs });
  if (response.status !== 201) throw new Error(`POST /jobs/batch answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.items;
}

/** Until another session of the database waits for a lock (the one `client` holds). */
const untilAnotherWaitsForALock = (client: pg.Client) =>
  expectEventually(async () => {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    expect(rows[0].n).toBeGreaterThan(0);
  });

const statusOf = (ids: string[], expected: string[], timeoutMs = 30_000) =>
  expectEventually(
    async () => {
      const jobs = await Promise.all(ids.map((id) => app.getJob(id)));
      expect(jobs.map((j) => j.status)).toEqual(expected);
      return jobs;
    },
    { timeoutMs },
  );

const events = (id: string) =>
  app.app
    .get(DataSource)
    .query(`SELECT event, data, message, sequence FROM job_logs WHERE job_id = $1 AND event IS NOT NULL ORDER BY sequence`, [id]) as Promise<
    Array<{ event: string; data: any; message: string; sequence: number }>
  >;

describe('POST /jobs/{id}/retry', () => {
  it('runs a failed job again with a new run budget: attempts keep counting, the error is cleared, the logs keep it', async () => {
    const job = await app.submit(failingOnce());
    const [failed] = await statusOf([job.id], ['failed']);
    expect(failed.attempts).toBe(1);
    expect(failed.error.code).toBe('HANDLER_ERROR');

    const response = await app.post(`/jobs/${job.id}/retry`, {});
    expect(response.status).toBe(200);
    expect(['ready', 'running', 'completed']).toContain(response.body.status);
    expect(response.body.error).toBeNull();

    const [done] = await statusOf([job.id], ['completed']);
    expect(done.attempts).toBe(2);
    expect(done.error).toBeNull();
    const log = await events(job.id);
    expect(log.map((e) => e.event)).toEqual(['job_created', 'job_started', 'job_failed', 'job_ready', 'job_started', 'job_completed']);
    const ready = log.find((e) => e.event === 'job_ready')!;
    expect(ready.data).toMatchObject({ retried: true, status: 'ready', actor: 'anonymous' });
    expect(ready.message).toContain('job retried');
    // The sequence numbers of the events stay one step apart: no event was lost or written twice.
    expect(log.map((e) => e.sequence)).toEqual(log.map((_, i) => i + 1));
  });

  it('gives a job that used all its attempts max_attempts more runs, retried by the usual rules', async () => {
    const job = await app.submit({
      type: 'noop',
      payload: { fail_attempts: 3 },
      retry_config: { max_attempts: 2, initial_delay_ms: 10, backoff_multiplier: 1, max_delay_ms: 10 },
    });
    const [failed] = await statusOf([job.id], ['failed']);
    expect(failed.attempts).toBe(2);
    expect(failed.attempt_base).toBe(0);
    const retried = await app.post(`/jobs/${job.id}/retry`, {});
    expect(retried.status).toBe(200);
    expect(retried.body.attempt_base).toBe(2);
    // Run 3 fails (its first of two new ones) and is retried; run 4 completes.
    const [done] = await statusOf([job.id], ['completed']);
    expect(done).toMatchObject({ attempts: 4, attempt_base: 2, retry_config: { max_attempts: 2 } });
  });

  it('resumes a failed chain where it failed: the jobs its end cancelled come back blocked, the completed ones are not run again', async () => {
    const [first, root, middle, last] = await batch([
      { ref: 'first', type: 'noop' },
      failingOnce({ ref: 'root', depends_on: ['first'] }),
      { ref: 'middle', type: 'noop', depends_on: ['root'] },
      { ref: 'last', type: 'noop', payload: { echo_dependencies: true }, depends_on: ['middle'] },
    ]);
    const ids = [first.id, root.id, middle.id, last.id];
    const before = await statusOf(ids, ['completed', 'failed', 'cancelled', 'cancelled']);
    expect(before[2].error).toMatchObject({ code: 'DEPENDENCY_FAILED', root_id: root.id, dependency_id: root.id });
    expect(before[3].error).toMatchObject({ code: 'DEPENDENCY_FAILED', root_id: root.id, dependency_id: middle.id });

    // The cancelled jobs cannot be retried before the job whose end cancelled them.
    const refused = await app.post(`/jobs/${middle.id}/retry`, {});
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'DEPENDENCY_NOT_COMPLETED', dependency_id: root.id });
    expect(refused.body.message).toContain(root.id);

    const response = await app.post(`/jobs/${root.id}/retry`, {});
    expect(response.status).toBe(200);
    const after = await statusOf(ids, ['completed', 'completed', 'completed', 'completed']);
    expect(after[0].completed_at).toBe(before[0].completed_at);
    expect(after[0].attempts).toBe(1);
    expect(after[1].attempts).toBe(2);
    expect(after[2].attempts).toBe(1);
    expect(after[3].result.dependencies[middle.id]).toEqual({ ok: true });

    const middleEvents = await events(middle.id);
    expect(middleEvents.map((e) => e.event)).toEqual(['job_created', 'job_cancelled', 'job_blocked', 'job_ready', 'job_started', 'job_completed']);
    expect(middleEvents[2]!.data).toMatchObject({ retried: true, status: 'blocked' });
    expect(middleEvents[2]!.message).toContain(`dependency ${root.id} retried`);
  });

  it('resumes a diamond: the failed side runs again, the bottom reads its new result, the other side is untouched', async () => {
    const [top, left, right, bottom] = await batch([
      { ref: 'top', type: 'noop' },
      failingOnce({ ref: 'left', depends_on: ['top'], payload: { echo: { side: 'left' } } }),
      { ref: 'right', type: 'noop', depends_on: ['top'], payload: { echo: { side: 'right' } } },
      { ref: 'bottom', type: 'noop', payload: { echo_dependencies: true }, depends_on: ['left', 'right'] },
    ]);
    const ids = [top.id, left.id, right.id, bottom.id];
    const before = await statusOf(ids, ['completed', 'failed', 'completed', 'cancelled']);
    expect((await app.post(`/jobs/${left.id}/retry`, {})).status).toBe(200);
    const blocked = await app.getJob(bottom.id);
    expect(['blocked', 'ready', 'running', 'completed']).toContain(blocked.status);

    const after = await statusOf(ids, ['completed', 'completed', 'completed', 'completed']);
    expect(after[0].completed_at).toBe(before[0].completed_at);
    expect(after[2].completed_at).toBe(before[2].completed_at);
    expect(after[2].attempts).toBe(1);
    expect(after[3].result.by_ref).toEqual({ left: { ok: true, echo: { side: 'left' } }, right: { ok: true, echo: { side: 'right' } } });
  });

  it('resumes a DAG below two failed roots whichever root is retried first', async () => {
    for (const order of [
      [0, 1],
      [1, 0],
    ]) {
      const [r1, r2, x, z] = await batch([
        failingOnce({ ref: 'r1' }),
        failingOnce({ ref: 'r2', payload: { duration_ms: 300 } }),
        { ref: 'x', type: 'noop', depends_on: ['r1'] },
        { ref: 'z', type: 'noop', depends_on: ['x', 'r2'] },
      ]);
      const ids = [r1.id, r2.id, x.id, z.id];
      await statusOf(ids, ['failed', 'failed', 'cancelled', 'cancelled']);
      const roots = [r1.id, r2.id];
      for (const i of order) expect((await app.post(`/jobs/${roots[i]}/retry`, {})).status).toBe(200);
      await statusOf(ids, ['completed', 'completed', 'completed', 'completed']);
    }
  });

  it('brings back a blocked dependent with its waiting reason when the retried job is itself blocked', async () => {
    const gate = await app.submit({ type: 'noop', payload: { duration_ms: 1500 } });
    const failing = await app.submit(failingOnce());
    await statusOf([failing.id], ['failed']);
    const [job] = await batch([{ ref: 'j', type: 'noop', depends_on: [gate.id, failing.id] }]);
    expect(job.status).toBe('cancelled');
    // job depends on a failed job: retry that one first.
    const refused = await app.post(`/jobs/${job.id}/retry`, {});
    expect(refused.body).toMatchObject({ code: 'DEPENDENCY_NOT_COMPLETED', dependency_id: failing.id });
    expect((await app.post(`/jobs/${failing.id}/retry`, {})).status).toBe(200);
    const back = await app.getJob(job.id);
    expect(['blocked', 'ready', 'running', 'completed']).toContain(back.status);
    await statusOf([gate.id, failing.id, job.id], ['completed', 'completed', 'completed']);
  });

  it('brings back a dependent that a concurrent submit stored cancelled while the retry waited for its locks', async () => {
    const parent = await app.submit(failingOnce());
    await statusOf([parent.id], ['failed']);
    // A submit in flight: it holds the failed parent FOR SHARE, as a submit naming it in depends_on does,
    // and stores its job cancelled (the parent had failed) only once the retry waits on that lock.
    const submit = new pg.Client({ connectionString: databaseUrl });
    await submit.connect();
    let childId: string;
    try {
      await submit.query('BEGIN');
      await submit.query('SELECT id FROM jobs WHERE id = $1 FOR SHARE', [parent.id]);
      const retry = app.post(`/jobs/${parent.id}/retry`, {});
      await untilAnotherWaitsForALock(submit);
      childId = (
        await submit.query(
          `INSERT INTO jobs (id, type, status, error, completed_at, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds)
           VALUES (gen_random_uuid(), 'noop', 'cancelled', jsonb_build_object('code', 'DEPENDENCY_FAILED', 'dependency_id', $1::text, 'root_id', $1::text), now(), 1, 2, 1000, 60000, 60)
           RETURNING id`,
          [parent.id],
        )
      ).rows[0].id;
      await submit.query('INSERT INTO job_dependencies (job_id, depends_on_id) VALUES ($1, $2)', [childId, parent.id]);
      await submit.query('COMMIT');
      expect((await retry).status).toBe(200);
    } finally {
      await submit.end();
    }
    await statusOf([parent.id, childId], ['completed', 'completed']);
  });

  it('a cancel cancels a dependent that a concurrent submit stored blocked below a job the cancel was cascading to', async () => {
    const root = await app.submit(aJob({ delay_ms: 600_000 }));
    const middle = await app.submit(aJob({ depends_on: [root.id] }));
    expect(middle.status).toBe('blocked');
    // A submit in flight naming `middle` in depends_on: it holds it FOR SHARE, and stores its job blocked
    // (middle was blocked) and its edge only once the cancel's cascade waits on that lock.
    const submit = new pg.Client({ connectionString: databaseUrl });
    await submit.connect();
    let childId: string;
    try {
      await submit.query('BEGIN');
      await submit.query('SELECT id FROM jobs WHERE id = $1 FOR SHARE', [middle.id]);
      const cancel = app.patch(`/jobs/${root.id}/cancel`);
      await untilAnotherWaitsForALock(submit);
      childId = (
        await submit.query(
          `INSERT INTO jobs (id, type, status, pending_dependencies, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds)
           VALUES (gen_random_uuid(), 'noop', 'blocked', 1, 1, 2, 1000, 60000, 60) RETURNING id`,
        )
      ).rows[0].id;
      await submit.query('INSERT INTO job_dependencies (job_id, depends_on_id) VALUES ($1, $2)', [childId, middle.id]);
      await submit.query('COMMIT');
      expect((await cancel).status).toBe(200);
    } finally {
      await submit.end();
    }
    await statusOf([root.id, middle.id, childId], ['cancelled', 'cancelled', 'cancelled']);
    expect((await app.getJob(childId)).error).toMatchObject({ code: 'DEPENDENCY_FAILED', dependency_id: middle.id, root_id: root.id });
  });

  it("a late release of a cancelled job's earlier placement does not free its later attempt's resources", async () => {
    const job = await app.submit(aJob({ delay_ms: 600_000 }));
    // Attempt 2, running on worker w2 and cancelled there: its handler is still in its grace period.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await db.query(
        `UPDATE jobs SET status = 'cancelled', allocated = true, worker_id = 'w2', attempts = 2, next_run_at = NULL, waiting_reason = NULL,
                started_at = now(), completed_at = now() WHERE id = $1`,
        [job.id],
      );
      const starts = app.app.get(JobStartsRepository);
      // Worker w1's release of attempt 1, late: it must change nothing.
      expect(await starts.releaseCancelled([job.id], { workerId: 'w1', attempt: 1 })).toBe(0);
      expect(await starts.releaseCancelled([job.id], { workerId: 'w2', attempt: 1 })).toBe(0);
      expect((await db.query('SELECT allocated FROM jobs WHERE id = $1', [job.id])).rows[0].allocated).toBe(true);
      expect(await starts.releaseCancelled([job.id], { workerId: 'w2', attempt: 2 })).toBe(1);
      expect((await db.query('SELECT allocated FROM jobs WHERE id = $1', [job.id])).rows[0].allocated).toBe(false);
    } finally {
      await db.end();
    }
  });

  it('refuses with the right codes: 400 malformed id, 404 unknown id, 409 naming the state', async () => {
    expect((await app.post('/jobs/not-a-uuid/retry', {})).status).toBe(400);
    const unknown = await app.post('/jobs/019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e/retry', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('JOB_NOT_FOUND');

    const done = await app.submit(aJob());
    await statusOf([done.id], ['completed']);
    const completed = await app.post(`/jobs/${done.id}/retry`, {});
    expect(completed.status).toBe(409);
    expect(completed.body).toMatchObject({ code: 'JOB_NOT_RETRYABLE', status: 'completed' });
    expect(completed.body.message).toContain('completed');

    const long = await app.submit(aJob({ payload: { duration_ms: 60_000 } }));
    await statusOf([long.id], ['running']);
    const running = await app.post(`/jobs/${long.id}/retry`, {});
    expect(running.status).toBe(409);
    expect(running.body).toMatchObject({ code: 'JOB_NOT_RETRYABLE', status: 'running' });
    expect((await app.patch(`/jobs/${long.id}/cancel`)).status).toBe(200);
    // Cancelled while running: it can run again once its handler stopped (JOB_STILL_STOPPING until then).
    await expectEventually(async () => expect((await app.post(`/jobs/${long.id}/retry`, {})).status).toBe(200), { timeoutMs: 20_000 });
    expect((await app.patch(`/jobs/${long.id}/cancel`)).status).toBe(200);
  });

  it('a retry or a delete right after the cancel of a running job waits out its handler’s stop; one that ignores its signal gets 409 JOB_STILL_STOPPING', async () => {
    // Handlers that take up to 700 ms to stop after their cancel (ignoring the signal that long).
    for (let round = 0; round < 3; round++) {
      const slow = await app.submit(aJob({ payload: { duration_ms: 700, ignore_signal: true } }));
      await statusOf([slow.id], ['running']);
      expect((await app.patch(`/jobs/${slow.id}/cancel`)).status).toBe(200);
      const retried = await app.post(`/jobs/${slow.id}/retry`, {});
      expect({ round, status: retried.status, body: retried.status === 200 ? null : retried.body }).toEqual({ round, status: 200, body: null });
      const other = await app.submit(aJob({ payload: { duration_ms: 700, ignore_signal: true } }));
      await statusOf([other.id], ['running']);
      expect((await app.patch(`/jobs/${other.id}/cancel`)).status).toBe(200);
      const deleted = await app.request('DELETE', `/jobs/${other.id}`);
      expect({ round, status: deleted.status, body: deleted.status === 204 ? null : deleted.body }).toEqual({ round, status: 204, body: null });
    }

    const stubborn = await app.submit(aJob({ payload: { duration_ms: 8000, ignore_signal: true } }));
    await statusOf([stubborn.id], ['running']);
    expect((await app.patch(`/jobs/${stubborn.id}/cancel`)).status).toBe(200);
    const retry = await app.post(`/jobs/${stubborn.id}/retry`, {});
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ code: 'JOB_STILL_STOPPING', status: 'cancelled' });
    const deletion = await app.request('DELETE', `/jobs/${stubborn.id}`);
    expect(deletion.status).toBe(409);
    expect(deletion.body).toMatchObject({ code: 'JOB_STILL_STOPPING' });
    // Once the handler returns, its worker releases the job, and the retry goes through.
    await expectEventually(async () => expect((await app.post(`/jobs/${stubborn.id}/retry`, {})).status).toBe(200), { timeoutMs: 20_000 });
  });

  it('a bulk retry right after a bulk cancel of running jobs waits out their handlers’ stop; one that ignores its signal is skipped as JOB_STILL_STOPPING', async () => {
    const slow = await Promise.all(Array.from({ length: 4 }, () => app.submit(aJob({ payload: { duration_ms: 700, ignore_signal: true } }))));
    const stubborn = await app.submit(aJob({ payload: { duration_ms: 8000, ignore_signal: true } }));
    const ids = [...slow.map((j) => j.id), stubborn.id];
    await statusOf(ids, ids.map(() => 'running'));
    const cancelled = await app.post('/jobs/bulk/cancel', { ids });
    expect(cancelled.body).toMatchObject({ matched: 5, changed: 5, skipped: [] });
    const retried = await app.post('/jobs/bulk/retry', { ids });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ matched: 5, changed: 4 });
    expect(retried.body.skipped).toEqual([{ id: stubborn.id, code: 'JOB_STILL_STOPPING', reason: expect.stringContaining('has not stopped') }]);
    for (const job of slow) expect((await app.getJob(job.id)).status).not.toBe('cancelled');
    expect((await app.getJob(stubborn.id)).status).toBe('cancelled');
    // Still holding its worker's resources: GET /workers lists it as stopping, beside what it counts in allocated.
    const workers = (await app.get('/workers')).body.items as Array<{ running_jobs: string[]; stopping_jobs: string[]; allocated: { slots: number } }>;
    const holder = workers.find((w) => w.stopping_jobs.includes(stubborn.id));
    expect(holder).toBeDefined();
    expect(holder!.running_jobs).not.toContain(stubborn.id);
    expect(holder!.allocated.slots).toBeGreaterThanOrEqual(holder!.running_jobs.length + holder!.stopping_jobs.length);
    await app.post('/jobs/bulk/cancel', { ids });
  });

  it('leaves one consistent state when a retry and a cancel of the same job race, and when two retries race', async () => {
    const jobs = await Promise.all(Array.from({ length: 8 }, () => app.submit(failingOnce({ payload: { duration_ms: 300 } }))));
    await statusOf(jobs.map((j) => j.id), jobs.map(() => 'failed'));
    for (const job of jobs) {
      const [retry, cancel, retryAgain] = await Promise.all([
        app.post(`/jobs/${job.id}/retry`, {}),
        app.patch(`/jobs/${job.id}/cancel`),
        app.post(`/jobs/${job.id}/retry`, {}),
      ]);
      expect([retry.status, cancel.status, retryAgain.status].every((s) => s === 200 || s === 409)).toBe(true);
      const retries = [retry, retryAgain].filter((r) => r.status === 200).length;
      // A cancel can only take a job a retry brought back; each retry takes a job that ended.
      if (cancel.status === 200) expect(retries).toBeGreaterThanOrEqual(1);
      else expect(retries).toBe(1);
      const final = await expectEventually(
        async () => {
          const j = await app.getJob(job.id);
          expect(['completed', 'cancelled', 'failed']).toContain(j.status);
          return j;
        },
        { timeoutMs: 20_000 },
      );
      const log = await events(job.id);
      expect(log.map((e) => e.sequence)).toEqual(log.map((_, i) => i + 1));
      expect(log.filter((e) => e.data.retried === true)).toHaveLength(retries);
      expect(log.filter((e) => e.event === 'job_cancelled')).toHaveLength(cancel.status === 200 ? 1 : 0);
      expect(final.status).toBe(log[log.length - 1]!.data.status);
    }
  });

  it('retries the parents of one shared dependent sent all at once without a deadlock: every one is carried out', async () => {
    // Fan-in: 24 parents waiting an hour (nothing runs), one child of them all; the parents cancelled
    // cancel the child. Each parent's retry locks its siblings (the child's other dependencies) and
    // itself: before, in two steps (siblings shared, then itself), so two retries waited on each other.
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const parents = await Promise.all(Array.from({ length: 24 }, () => app.submit(aJob({ run_at: runAt }))));
    const child = await app.submit(aJob({ depends_on: parents.map((p) => p.id) }));
    const cancelled = await app.post('/jobs/bulk/cancel', { ids: parents.map((p) => p.id) });
    expect(cancelled.body).toMatchObject({ changed: 24 });
    await statusOf([child.id], ['cancelled']);

    const retries = await Promise.all(parents.map((p) => app.post(`/jobs/${p.id}/retry`, {})));
    expect(retries.map((r) => r.status)).toEqual(parents.map(() => 200));
    const [back] = await statusOf([child.id], ['blocked']);
    expect(back.waiting_reason).toMatchObject({ code: 'WAITING_FOR_DEPENDENCIES' });
    await statusOf(parents.map((p) => p.id), parents.map(() => 'pending'));

    // Three bulk retries of the same parents at once: each parent comes back once, the others skip it.
    expect((await app.post('/jobs/bulk/cancel', { ids: parents.map((p) => p.id) })).body).toMatchObject({ changed: 24 });
    await statusOf([child.id], ['cancelled']);
    const bulks = await Promise.all([0, 1, 2].map(() => app.post('/jobs/bulk/retry', { ids: parents.map((p) => p.id) })));
    expect(bulks.map((b) => b.status)).toEqual([200, 200, 200]);
    expect(bulks.reduce((sum, b) => sum + b.body.changed, 0)).toBe(24);
    expect(bulks.every((b) => b.body.conflicts === undefined)).toBe(true);
    await statusOf([child.id], ['blocked']);
    expect((await app.post('/jobs/bulk/cancel', { ids: [...parents.map((p) => p.id), child.id] })).status).toBe(200);
  });
});
