import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { aJob } from '../builders/job.builder.js';
import { JobLifecycleService } from '../../src/jobs/job-lifecycle.service.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * A draining worker releases the jobs its grace period did not see finish for a retry elsewhere,
 * without costing them an attempt (DESIGN §5); and a handler's log lines are stored for jobs that
 * exist, each line on its own (one that is not JSON spoils no other line of its batch).
 */

let space: TestSpace;
let app: TestApp | undefined;

beforeAll(async () => {
  space = await createTestSpace('worker_release');
});

afterAll(async () => {
  await app?.close();
});

describe('a job running when its worker shuts down, on its last attempt', () => {
  it('goes back to be retried (not failed), its dependent stays blocked, and both run on the next worker', async () => {
    const first = await startTestApp(space, { WORKER_ID: 'drains-first', SHUTDOWN_GRACE_MS: '300' });
    const job = await first.submit(aJob({ payload: { duration_ms: 2000 }, retry_config: { max_attempts: 1 } }));
    const dependent = await first.submit(aJob({ depends_on: [job.id] }));
    await expectEventually(async () => expect(await first.getJob(job.id)).toMatchObject({ status: 'running', worker_id: 'drains-first' }));
    await first.close();

    const client = new pg.Client({ connectionString: space.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT id, status, attempts, attempt_base, error FROM jobs WHERE id = ANY($1::uuid[])`, [[job.id, dependent.id]]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      // Due at once: the scheduler of the closing app may have made it ready already.
      expect(byId.get(job.id)).toMatchObject({ status: expect.stringMatching(/^(pending|ready)$/), attempts: 1, attempt_base: 1, error: { code: 'WORKER_SHUTDOWN' } });
      expect(byId.get(dependent.id)).toMatchObject({ status: 'blocked' });
    } finally {
      await client.end();
    }

    app = await startTestApp(space, { WORKER_ID: 'runs-next' });
    const done = await expectEventually(async () => expect(await app!.getJob(job.id)).toMatchObject({ status: 'completed' }), { timeoutMs: 30_000 }).then(() => app!.getJob(job.id));
    expect(done).toMatchObject({ attempts: 2, attempt_base: 1, worker_id: 'runs-next', error: null });
    await expectEventually(async () => expect(await app!.getJob(dependent.id)).toMatchObject({ status: 'completed', attempts: 1 }), { timeoutMs: 30_000 });
  });
});

describe('handler log lines', () => {
  const logRows = async (ids: string[]) =>
    (await app!.app.get(DataSource).query(`SELECT job_id, message, data FROM job_logs WHERE job_id = ANY($1::uuid[]) AND event IS NULL ORDER BY id`, [ids])) as Array<{
      job_id: string;
      message: string;
      data: unknown;
    }>;

  it('are stored one by one: a line whose data is not JSON spoils no other line of its batch', async () => {
    app ??= await startTestApp(space, { WORKER_ID: 'runs-next' });
    const job = await app.submit(aJob());
    const lifecycle = app.app.get(JobLifecycleService);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    // Written in one tick: one batch.
    const written = await Promise.allSettled([
      lifecycle.log(job.id, 1, 'info', 'before', { n: 1 }),
      lifecycle.log(job.id, 1, 'info', 'circular', circular),
      lifecycle.log(job.id, 1, 'info', 'big', { n: 10n } as never),
      lifecycle.log(job.id, 1, 'info', 'after'),
    ]);
    expect(written.map((w) => w.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(await logRows([job.id])).toEqual([
      { job_id: job.id, message: 'before', data: { n: 1 } },
      { job_id: job.id, message: 'circular', data: { unserializable: expect.stringMatching(/circular/i) } },
      { job_id: job.id, message: 'big', data: { unserializable: expect.stringMatching(/BigInt/) } },
      { job_id: job.id, message: 'after', data: null },
    ]);
  });

  it('are dropped for a job that does not exist (deleted while its handler went on)', async () => {
    app ??= await startTestApp(space, { WORKER_ID: 'runs-next' });
    const job = await app.submit(aJob());
    await expectEventually(async () => expect(await app!.getJob(job.id)).toMatchObject({ status: 'completed' }));
    expect((await app.request('DELETE', `/jobs/${job.id}`)).status).toBeLessThan(300);
    const live = await app.submit(aJob());
    const gone = randomUUID();
    const lifecycle = app.app.get(JobLifecycleService);
    await Promise.all([
      lifecycle.log(job.id, 1, 'warn', 'after the delete'),
      lifecycle.log(gone, 1, 'warn', 'never a job'),
      lifecycle.log(live.id, 1, 'warn', 'still here'),
    ]);
    expect(await logRows([job.id, gone, live.id])).toEqual([{ job_id: live.id, message: 'still here', data: null }]);
  });
});
