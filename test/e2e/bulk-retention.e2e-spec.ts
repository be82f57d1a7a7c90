import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { aJob } from '../builders/job.builder.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;
let db: DataSource;

beforeAll(async () => {
  const space = await createTestSpace('bulk');
  app = await startTestApp(space, {
    MAX_CONCURRENT_JOBS: '20',
    MAX_CPU_UNITS: '20',
    MAX_MEMORY_MB: '10000',
    RETENTION_INTERVAL_MS: '300',
    RETENTION_BATCH_SIZE: '40',
    RETENTION_PAUSE_MS: '10',
  });
  db = app.app.get(DataSource);
});

afterAll(async () => {
  await app?.close();
});

const DAY = 86_400_000;

/**
 * Stores `count` jobs straight in the table (as a big history would be), each with a log row.
 * `ageMs`: how long ago they were created and ended.
 */
async function seed(count: number, { status, priority = 'normal', ageMs = 0, type = 'noop' }: { status: string; priority?: string; ageMs?: number; type?: string }): Promise<string[]> {
  const rows: Array<{ id: string }> = await db.query(
    `WITH inserted AS (
       INSERT INTO jobs (id, type, priority, status, payload, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms,
                         timeout_seconds, attempts, pending_dependencies, error, created_at, updated_at, completed_at, event_seq)
       SELECT gen_random_uuid(), $2, $3::job_priority, $4::job_status, '{}', 1, 2, 1000, 60000, 60,
              CASE WHEN $4 IN ('completed', 'failed', 'timeout') THEN 1 ELSE 0 END,
              CASE WHEN $4 = 'blocked' THEN 1 ELSE 0 END,
              CASE WHEN $4 IN ('failed', 'timeout') THEN '{"code": "HANDLER_ERROR", "message": "seeded"}'::jsonb END,
              now() - make_interval(secs => $5::float8 / 1000), now() - make_interval(secs => $5::float8 / 1000),
              CASE WHEN $4 IN ('completed', 'failed', 'timeout', 'cancelled') THEN now() - make_interval(secs => $5::float8 / 1000) END, 1
       FROM generate_series(1, $1)
       RETURNING id
     ), logged AS (
       INSERT INTO job_logs (job_id, level, message, attempt) SELECT id, 'info', 'seeded', 0 FROM inserted
     )
     SELECT id FROM inserted`,
    [count, type, priority, status, ageMs],
  );
  return rows.map((r) => r.id);
}

const count = async (sql: string, params: unknown[] = []) => ((await db.query(sql, params))[0] as { n: number }).n;

async function settled(id: string, status: string, timeoutMs = 30_000) {
  return expectEventually(
    async () => {
      const job = await app.getJob(id);
      expect(job.status).toBe(status);
      return job;
    },
    { timeoutMs },
  );
}

describe('DELETE /jobs/{id}', () => {
  it('removes a finished job with its logs and its edges', async () => {
    const done = await app.submit(aJob());
    await settled(done.id, 'completed');
    const child = await app.submit(aJob({ depends_on: [done.id] }));
    await settled(child.id, 'completed');

    const response = await app.request('DELETE', `/jobs/${done.id}`);
    expect(response.status).toBe(204);
    expect((await app.get(`/jobs/${done.id}`)).status).toBe(404);
    expect(await count(`SELECT count(*)::int AS n FROM job_logs WHERE job_id = $1`, [done.id])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM job_dependencies WHERE depends_on_id = $1 OR job_id = $1`, [done.id])).toBe(0);
    expect((await app.getJob(child.id)).depends_on).toEqual([]);
    expect((await app.request('DELETE', `/jobs/${done.id}`)).status).toBe(404);
  });

  it('refuses an unfinished job (409 naming its state) and a job an unfinished job depends on', async () => {
    const long = await app.submit(aJob({ payload: { duration_ms: 60_000 } }));
    await settled(long.id, 'running');
    const running = await app.request('DELETE', `/jobs/${long.id}`);
    expect(running.status).toBe(409);
    expect(running.body).toMatchObject({ code: 'JOB_NOT_FINISHED', status: 'running' });

    const done = await app.submit(aJob());
    await settled(done.id, 'completed');
    const waiting = await app.submit(aJob({ depends_on: [done.id, long.id] }));
    expect(waiting.status).toBe('blocked');
    const depended = await app.request('DELETE', `/jobs/${done.id}`);
    expect(depended.status).toBe(409);
    expect(depended.body).toMatchObject({ code: 'JOB_HAS_UNFINISHED_DEPENDENTS', dependent_id: waiting.id, status: 'completed' });
    expect((await app.patch(`/jobs/${long.id}/cancel`)).status).toBe(200);
  });

  it('refuses a job whose dependent ended without completing (it may be retried, and needs it), until that dependent is deleted', async () => {
    const root = await app.submit({ type: 'noop', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } });
    const child = await app.submit(aJob({ depends_on: [root.id] }));
    await settled(root.id, 'failed');
    await settled(child.id, 'cancelled');
    const refused = await app.request('DELETE', `/jobs/${root.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'JOB_HAS_UNFINISHED_DEPENDENTS', dependent_id: child.id, dependent_status: 'cancelled' });
    // The child's retry still sees its dependency: 409 until the root is retried, never a run without it.
    const retry = await app.post(`/jobs/${child.id}/retry`, {});
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ code: 'DEPENDENCY_NOT_COMPLETED', dependency_id: root.id });
    expect((await app.request('DELETE', `/jobs/${child.id}`)).status).toBe(204);
    expect((await app.request('DELETE', `/jobs/${root.id}`)).status).toBe(204);
  });

  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    expect((await app.request('DELETE', '/jobs/nope')).status).toBe(400);
    expect((await app.request('DELETE', '/jobs/019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e')).body.code).toBe('JOB_NOT_FOUND');
  });
});

describe('POST /jobs/bulk/cancel and /jobs/bulk/retry', () => {
  it('cancels by ids: matched = changed + skipped, each skip with its reason', async () => {
    const blocked = await seed(3, { status: 'blocked', type: 'bulk_ids' });
    const done = await app.submit(aJob());
    await settled(done.id, 'completed');
    const unknown = '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e';
    const response = await app.post('/jobs/bulk/cancel', { ids: [...blocked, done.id, unknown, blocked[0]] });
    expect(response.status).toBe(200);
    expect(response.body.matched).toBe(5);
    expect(response.body.changed).toBe(3);
    expect(response.body.skipped).toEqual(
      expect.arrayContaining([
        { id: done.id, code: 'JOB_ALREADY_FINISHED', reason: 'job is already completed' },
        { id: unknown, code: 'JOB_NOT_FOUND', reason: 'job not found' },
      ]),
    );
    for (const id of blocked) expect((await app.getJob(id)).error).toMatchObject({ code: 'CANCELLED_BY_USER', actor: 'anonymous' });
  });

  it('retries by ids, resuming the DAGs, and lists why the others were skipped', async () => {
    const root = await app.submit({ type: 'noop', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } });
    const child = await app.submit(aJob({ depends_on: [root.id] }));
    await settled(root.id, 'failed');
    await settled(child.id, 'cancelled');
    const done = await app.submit(aJob());
    await settled(done.id, 'completed');

    // Named child first, taken oldest first: the root's retry brings the child back, and it counts as changed.
    const response = await app.post('/jobs/bulk/retry', { ids: [child.id, root.id, done.id] });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ matched: 3, changed: 2 });
    expect(response.body.skipped.map((s: any) => s.code)).toEqual(['JOB_NOT_RETRYABLE']);
    await settled(child.id, 'completed');

    // By filter, oldest first: the root before the jobs its end cancelled, which come back with it.
    const [a, b] = await Promise.all([
      app.submit({ type: 'noop', priority: 'low', payload: { fail_attempts: 1, echo: { tag: 'bulk-retry' } }, retry_config: { max_attempts: 1 } }),
      app.submit({ type: 'noop', priority: 'low', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } }),
    ]);
    const c = await app.submit(aJob({ priority: 'low', depends_on: [a.id] }));
    await settled(a.id, 'failed');
    await settled(b.id, 'failed');
    await settled(c.id, 'cancelled');
    const byFilter = await app.post('/jobs/bulk/retry', { filter: { status: ['failed', 'cancelled'], priority: 'low' } });
    expect(byFilter.status).toBe(200);
    expect(byFilter.body).toEqual({ matched: 3, changed: 3, skipped: [] });
    for (const id of [a.id, b.id, c.id]) await settled(id, 'completed');
  });

  it('counts a dependent as changed when the retry of its dependency, matched after it, brings it back', async () => {
    // A batch lists the dependent first: both get one created_at and the dependent the lower id, so
    // "oldest first" takes it before its dependency, whose retry then brings it back.
    const batch = await app.post('/jobs/batch', {
      jobs: [
        { ref: 'child', type: 'noop', priority: 'high', depends_on: ['root'] },
        { ref: 'root', type: 'noop', priority: 'high', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } },
      ],
    });
    expect(batch.status).toBe(201);
    const [child, root] = batch.body.items as Array<{ id: string }>;
    await settled(root!.id, 'failed');
    await settled(child!.id, 'cancelled');
    const byIds = await app.post('/jobs/bulk/retry', { ids: [root!.id, child!.id] });
    expect(byIds.body).toEqual({ matched: 2, changed: 2, skipped: [] });
    await settled(child!.id, 'completed');

    const again = await app.post('/jobs/batch', {
      jobs: [
        { ref: 'child', type: 'noop', priority: 'high', depends_on: ['root'] },
        { ref: 'root', type: 'noop', priority: 'high', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } },
      ],
    });
    const [child2, root2] = again.body.items as Array<{ id: string }>;
    await settled(root2!.id, 'failed');
    await settled(child2!.id, 'cancelled');
    const byFilter = await app.post('/jobs/bulk/retry', { filter: { status: ['failed', 'cancelled'], priority: 'high' } });
    expect(byFilter.body).toEqual({ matched: 2, changed: 2, skipped: [] });
    await settled(child2!.id, 'completed');
  });

  it('retries 3,000 failed jobs without edges together, beside a DAG retried job by job, in one answer', async () => {
    const many = await seed(3000, { status: 'failed', type: 'noop' });
    const root = await app.submit({ type: 'noop', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } });
    const child = await app.submit(aJob({ depends_on: [root.id] }));
    await settled(child.id, 'cancelled');
    const response = await app.post('/jobs/bulk/retry', { ids: [child.id, ...many, root.id] });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ matched: 3002, changed: 3002, skipped: [] });
    await settled(child.id, 'completed');
    await expectEventually(
      async () => expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'completed' AND error IS NULL`, [many])).toBe(3000),
      { timeoutMs: 60_000 },
    );
  });

  it('cancels 20,000 jobs by filter in chunks while other jobs keep flowing', async () => {
    const seeded = await seed(20_000, { status: 'blocked', priority: 'low', type: 'noop' });
    const bulk = app.post('/jobs/bulk/cancel', { filter: { status: 'blocked', priority: 'low' } });
    let bulkDone = false;
    void bulk.then(() => (bulkDone = true));

    let completedDuringBulk = 0;
    const flowing: string[] = [];
    while (!bulkDone && flowing.length < 500) {
      const job = await app.submit(aJob());
      flowing.push(job.id);
      await settled(job.id, 'completed');
      if (!bulkDone) completedDuringBulk++;
    }
    const response = await bulk;
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ matched: 20_000, changed: 20_000, skipped: [] });
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'cancelled'`, [seeded])).toBe(20_000);
    expect(await count(`SELECT count(*)::int AS n FROM job_logs WHERE job_id = ANY($1::uuid[]) AND event = 'job_cancelled'`, [seeded])).toBe(20_000);
    // Pickup went on between the chunks: jobs submitted meanwhile ran to the end before the bulk answered.
    expect(completedDuringBulk).toBeGreaterThan(0);
  }, 180_000);

  it.each([
    ['neither ids nor filter', {}],
    ['both ids and filter', { ids: ['019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e'], filter: { status: 'failed' } }],
    ['an empty filter', { filter: {} }],
    ['more than 10,000 ids', { ids: Array.from({ length: 10_001 }, () => '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e') }],
    ['an unknown status', { filter: { status: 'sleeping' } }],
    ['an unknown criterion', { filter: { colour: 'red' } }],
    ['a malformed id', { ids: ['nope'] }],
    ['a created_before without a zone', { filter: { created_before: '2026-01-01T00:00:00' } }],
    ['a created_before on a day that does not exist', { filter: { created_before: '2026-02-30T00:00:00Z' } }],
    ['a created_before as a week date', { filter: { created_before: '2024-W03-1T00:00:00Z' } }],
    ['a created_before without minutes', { filter: { created_before: '2024-01-15T00Z' } }],
    ['an empty list of created_before', { filter: { created_before: [] } }],
    ['a list of created_before with one bad instant', { filter: { created_before: ['2026-01-01T00:00:00Z', '2026-01-01'] } }],
  ])('refuses %s with a 400 and a code', async (_, body) => {
    for (const action of ['cancel', 'retry']) {
      const response = await app.post(`/jobs/bulk/${action}`, body);
      expect(response.status).toBe(400);
      expect(typeof response.body.code).toBe('string');
    }
  });

  it('by filter, leaves alone the jobs created after the request began', async () => {
    const gate = await app.submit(aJob({ delay_ms: 600_000 }));
    const before = await app.submit(aJob({ type: 'data_processing', depends_on: [gate.id], payload: { records: [{ a: 1 }], operations: [{ op: 'limit', count: 1 }] } }));
    // A job created after the request began: its row carries a later created_at than the request's start.
    const later = await app.submit(aJob({ type: 'data_processing', depends_on: [gate.id], payload: { records: [{ a: 1 }], operations: [{ op: 'limit', count: 1 }] } }));
    await db.query(`UPDATE jobs SET created_at = now() + interval '1 hour' WHERE id = $1`, [later.id]);
    const answer = await app.post('/jobs/bulk/cancel', { filter: { type: 'data_processing', status: 'blocked' } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ matched: 1, changed: 1 });
    expect((await app.getJob(before.id)).status).toBe('cancelled');
    expect((await app.getJob(later.id)).status).toBe('blocked');
    expect((await app.patch(`/jobs/${gate.id}/cancel`)).status).toBe(200);
  });

  it('names the instant it refuses, whether it came alone or in a list', async () => {
    for (const createdBefore of ['2026-01-01T00:00:00', ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00']]) {
      const response = await app.post('/jobs/bulk/cancel', { filter: { created_before: createdBefore } });
      expect(response.status).toBe(400);
      const messages = response.body.details.map((d: { message: string }) => d.message);
      expect(messages).toEqual([expect.stringMatching(/^filter\.created_before .*\(got "2026-01-01T00:00:00"\)$/)]);
    }
  });

  it.each([['0001-01-01T00:00:00Z'], ['2026-01-01T00:00:00+0200'], ['9999-12-31T23:59:59.999Z']])(
    'reads created_before %s as run_at is read (any zoned instant)',
    async (createdBefore) => {
      const response = await app.post('/jobs/bulk/cancel', { filter: { created_before: createdBefore, type: 'no_such_type' } });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ matched: 0, changed: 0 });
    },
  );
});

describe('a list of created_before', () => {
  it('means before any of them: before the latest', async () => {
    const job = await app.submit(aJob());
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('completed'));
    const cancel = (createdBefore: string[]) =>
      app.post('/jobs/bulk/cancel', { filter: { created_before: createdBefore, status: 'completed', type: job.type } });
    const both = await cancel(['2000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']);
    expect(both.status).toBe(200);
    expect(both.body.matched).toBeGreaterThanOrEqual(1);
    expect(both.body.changed).toBe(0);
    // The job itself is matched by the later instant of the list alone.
    expect((await cancel(['2000-01-01T00:00:00Z', job.created_at])).body.matched).toBe(both.body.matched - 1);
    expect((await cancel(['2000-01-01T00:00:00Z', '2001-01-01T00:00:00Z'])).body).toMatchObject({ matched: 0, changed: 0 });
  });
});

describe('retention', () => {
  it('deletes finished jobs past their retention in batches, with logs and edges, and keeps a completed dependency of a blocked job', async () => {
    const oldCompleted = await seed(150, { status: 'completed', ageMs: 8 * DAY, type: 'old_done' });
    const oldFailed = await seed(30, { status: 'failed', ageMs: 31 * DAY, type: 'old_failed' });
    const youngFailed = await seed(10, { status: 'failed', ageMs: 8 * DAY, type: 'young_failed' });
    const recent = await seed(10, { status: 'completed', ageMs: 1000, type: 'recent_done' });
    const [keptDependency] = await seed(1, { status: 'completed', ageMs: 8 * DAY, type: 'kept_dep' });
    const gate = await app.submit(aJob({ payload: { duration_ms: 60_000 } }));
    const waiting = await app.submit(aJob({ depends_on: [keptDependency!, gate.id] }));
    expect(waiting.status).toBe('blocked');
    await db.query(`INSERT INTO job_dependencies (job_id, depends_on_id) SELECT unnest($1::uuid[]), $2::uuid`, [oldCompleted.slice(0, 5), oldFailed[0]]);

    await expectEventually(
      async () => expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [[...oldCompleted, ...oldFailed]])).toBe(0),
      { timeoutMs: 30_000 },
    );
    expect(await count(`SELECT count(*)::int AS n FROM job_logs WHERE job_id = ANY($1::uuid[])`, [[...oldCompleted, ...oldFailed]])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM job_dependencies WHERE depends_on_id = $1`, [oldFailed[0]])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [[...youngFailed, ...recent, keptDependency]])).toBe(21);
    expect((await app.getJob(waiting.id)).depends_on).toContain(keptDependency);

    const metrics = await app.get('/metrics');
    const deleted = (type: string) => {
      const line = String(metrics.body)
        .split('\n')
        .find((l) => l.startsWith('draconic_jobs_deleted_total{') && l.includes(`type="${type}"`) && l.includes('reason="retention"'));
      return Number(line?.split(' ').pop());
    };
    expect(deleted('old_done')).toBe(150);
    expect(deleted('old_failed')).toBe(30);

    // Once the blocked job is cancelled it may still be retried, which would need its dependency's result: the
    // dependency stays. Once that job is deleted, the dependency may go too.
    expect((await app.patch(`/jobs/${gate.id}/cancel`)).status).toBe(200);
    await expectEventually(async () => expect((await app.getJob(waiting.id)).status).toBe('cancelled'));
    await new Promise((r) => setTimeout(r, 1500)); // five retention rounds
    expect((await app.get(`/jobs/${keptDependency}`)).status).toBe(200);
    expect((await app.request('DELETE', `/jobs/${waiting.id}`)).status).toBe(204);
    await expectEventually(async () => expect((await app.get(`/jobs/${keptDependency}`)).status).toBe(404), { timeoutMs: 30_000 });
  });

  it('leaves a job another transaction holds for a later batch, and deletes it once released', async () => {
    const [held, ...others] = await seed(90, { status: 'completed', ageMs: 8 * DAY, type: 'held_done' });
    const holder = db.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`SELECT id FROM jobs WHERE id = $1 FOR SHARE`, [held]);
      await expectEventually(async () => expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [others])).toBe(0), { timeoutMs: 30_000 });
      expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = $1`, [held])).toBe(1);
      expect(await count(`SELECT count(*)::int AS n FROM job_logs WHERE job_id = $1`, [held])).toBe(1);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    await expectEventually(async () => expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = $1`, [held])).toBe(0), { timeoutMs: 30_000 });
    expect(await count(`SELECT count(*)::int AS n FROM job_logs WHERE job_id = $1`, [held])).toBe(0);
  });
});
