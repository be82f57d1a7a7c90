import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { aJob } from '../builders/job.builder.js';
import { jobLogs, listWorkers, NOTHING_ALLOCATED } from '../support/engine.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;

beforeAll(async () => {
  const space = await createTestSpace('dag');
  app = await startTestApp(space, {
    MAX_CONCURRENT_JOBS: '100',
    MAX_CPU_UNITS: '100',
    MAX_MEMORY_MB: '100000',
    MAX_BATCH_JOBS: '1500',
    MAX_DEPENDENCIES_PER_JOB: '1000',
  });
});

afterAll(async () => {
  await app?.close();
});

const countJobs = async () => (await app.app.get(DataSource).query(`SELECT count(*)::int AS n FROM jobs`))[0].n as number;

async function batch(jobs: Array<Record<string, unknown>>) {
  const response = await app.post('/jobs/batch', { jobs });
  if (response.status !== 201) throw new Error(`POST /jobs/batch answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.items as any[];
}

const finished = (ids: string[]) =>
  expectEventually(
    async () => {
      const jobs = await Promise.all(ids.map((id) => app.getJob(id)));
      for (const job of jobs) expect(['completed', 'failed', 'timeout', 'cancelled']).toContain(job.status);
      return jobs;
    },
    { timeoutMs: 30_000 },
  );

const ms = (iso: string) => Date.parse(iso);

describe('POST /jobs/batch', () => {
  it('returns the items in order, with refs resolved to ids and first states set', async () => {
    const items = await batch([
      { ref: 'a', type: 'noop', payload: { duration_ms: 300 } },
      { ref: 'b', type: 'noop', depends_on: ['a'] },
      { type: 'noop' },
    ]);
    expect(items.map((i) => i.ref)).toEqual(['a', 'b', null]);
    expect(items[1].depends_on).toEqual([items[0].id]);
    expect(items[0].dependents).toEqual([items[1].id]);
    expect(items[1].status).toBe('blocked');
    expect(items[1].waiting_reason).toMatchObject({ code: 'WAITING_FOR_DEPENDENCIES', pending_ids: [items[0].id] });
    await finished(items.map((i) => i.id));
  });

  it('runs a diamond in dependency order', async () => {
    const items = await batch([
      { ref: 'top', type: 'noop', payload: { duration_ms: 100 } },
      { ref: 'left', type: 'noop', payload: { duration_ms: 100 }, depends_on: ['top'] },
      { ref: 'right', type: 'noop', payload: { duration_ms: 50 }, depends_on: ['top'] },
      { ref: 'bottom', type: 'noop', depends_on: ['left', 'right'] },
    ]);
    const [top, left, right, bottom] = await finished(items.map((i) => i.id));
    for (const job of [top, left, right, bottom]) expect(job.status).toBe('completed');
    expect(ms(left.started_at)).toBeGreaterThanOrEqual(ms(top.completed_at));
    expect(ms(right.started_at)).toBeGreaterThanOrEqual(ms(top.completed_at));
    expect(ms(bottom.started_at)).toBeGreaterThanOrEqual(Math.max(ms(left.completed_at), ms(right.completed_at)));
  });

  it('runs a chain strictly in sequence', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => ({ ref: `c${i}`, type: 'noop', depends_on: i === 0 ? [] : [`c${i - 1}`] }));
    const done = await finished((await batch(jobs)).map((i) => i.id));
    for (let i = 1; i < done.length; i++) {
      expect(done[i].status).toBe('completed');
      expect(ms(done[i].started_at)).toBeGreaterThanOrEqual(ms(done[i - 1].completed_at));
    }
  });

  it('runs a fan-out / fan-in of 1,000 children, the parent last', async () => {
    const children = Array.from({ length: 1000 }, (_, i) => ({ ref: `child${i}`, type: 'noop', depends_on: ['root'] }));
    const items = await batch([
      { ref: 'root', type: 'noop' },
      ...children,
      { ref: 'parent', type: 'noop', depends_on: children.map((c) => c.ref) },
    ]);
    expect(items).toHaveLength(1002);
    const parentId = items[1001].id;
    const parent = await expectEventually(
      async () => {
        const job = await app.getJob(parentId);
        expect(job.status).toBe('completed');
        return job;
      },
      { timeoutMs: 60_000 },
    );
    const [{ last }] = await app.app
      .get(DataSource)
      .query(`SELECT max(completed_at) AS last FROM jobs WHERE id = ANY($1::uuid[])`, [items.slice(1, 1001).map((i) => i.id)]);
    expect(ms(parent.started_at)).toBeGreaterThanOrEqual(new Date(last).getTime());
    expect(parent.depends_on).toHaveLength(1000);
  });

  it('gives a dependent the results of its dependencies, by id and by ref', async () => {
    const items = await batch([
      { ref: 'left', type: 'noop', payload: { echo: { side: 'left' } } },
      { ref: 'right', type: 'noop', payload: { echo: { side: 'right' } } },
      { ref: 'join', type: 'noop', payload: { echo_dependencies: true }, depends_on: ['left', 'right'] },
    ]);
    const [, , join] = await finished(items.map((i) => i.id));
    expect(join.result.by_ref).toEqual({ left: { ok: true, echo: { side: 'left' } }, right: { ok: true, echo: { side: 'right' } } });
    expect(join.result.dependencies[items[0].id]).toEqual({ ok: true, echo: { side: 'left' } });
  });

  it('mixes refs and existing ids', async () => {
    const existing = await app.submit(aJob());
    const items = await batch([{ ref: 'x', type: 'noop', depends_on: [existing.id] }, { type: 'noop', depends_on: ['x', existing.id] }]);
    expect(items[1].depends_on.sort()).toEqual([existing.id, items[0].id].sort());
    const done = await finished(items.map((i) => i.id));
    expect(done.map((j) => j.status)).toEqual(['completed', 'completed']);
  });

  it('counts one dependency named twice (an id in two spellings, or a reused ref and its id) once', async () => {
    const gate = await app.submit(aJob({ payload: { duration_ms: 300 }, idempotency_key: 'twice-gate' }));
    const items = await batch([
      { type: 'noop', depends_on: [gate.id, gate.id.toUpperCase()] },
      { ref: 'g', type: 'noop', idempotency_key: 'twice-gate' },
      { type: 'noop', depends_on: ['g', gate.id] },
    ]);
    expect(items[1].id).toBe(gate.id);
    expect(items[0].depends_on).toEqual([gate.id]);
    expect(items[2].depends_on).toEqual([gate.id]);
    const done = await finished([items[0].id, items[2].id]);
    expect(done.map((j) => j.status)).toEqual(['completed', 'completed']);
  });

  it('returns the existing jobs for repeated idempotency keys (200 when nothing is new)', async () => {
    const body = { jobs: [{ ref: 'k1', type: 'noop', idempotency_key: 'batch-key-1' }, { type: 'noop', idempotency_key: 'batch-key-2', depends_on: ['k1'] }] };
    const first = await app.post('/jobs/batch', body);
    const again = await app.post('/jobs/batch', body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.items.map((i: any) => i.id)).toEqual(first.body.items.map((i: any) => i.id));
  });
});

describe('POST /jobs/batch: rejected batches write nothing', () => {
  it.each([
    [
      'a cycle, named in order',
      [
        { ref: 'a', type: 'noop', depends_on: ['c'] },
        { ref: 'b', type: 'noop', depends_on: ['a'] },
        { ref: 'c', type: 'noop', depends_on: ['b'] },
      ],
      422,
      'dependency cycle: a -> c -> b -> a',
    ],
    ['a self-dependency', [{ ref: 'a', type: 'noop', depends_on: ['a'] }], 422, 'dependency cycle: a -> a'],
    ['a ref that names nothing', [{ ref: 'a', type: 'noop', depends_on: ['nope'] }], 422, 'jobs[0]: depends_on names "nope", which is neither a ref of this batch nor a job id'],
    ['an unknown id', [{ type: 'noop', depends_on: ['01900000-0000-7000-8000-000000000000'] }], 422, 'depends_on names unknown job: 01900000-0000-7000-8000-000000000000'],
    ['a duplicate ref', [{ ref: 'a', type: 'noop' }, { ref: 'a', type: 'noop' }], 400, 'jobs[1].ref "a" is already used by jobs[0]'],
    ['a bad payload in one item', [{ type: 'noop' }, { type: 'noop', payload: { duration_ms: -5 } }], 400, 'jobs[1].payload.duration_ms must not be less than 0'],
    ['an unknown type in one item', [{ type: 'noop' }, { type: 'nope' }], 400, 'jobs[1]: type "nope" is not a registered job type'],
    ['an empty batch', [], 400, 'jobs must list at least one job'],
  ])('refuses %s', async (_case, jobs, status, message) => {
    const before = await countJobs();
    const response = await app.post('/jobs/batch', { jobs });
    expect(response.status).toBe(status);
    expect([response.body.message].flat().join('\n')).toContain(message);
    expect(await countJobs()).toBe(before);
  });

  it('carries the cycle as data', async () => {
    const response = await app.post('/jobs/batch', { jobs: [{ ref: 'x', type: 'noop', depends_on: ['y'] }, { ref: 'y', type: 'noop', depends_on: ['x'] }] });
    expect(response.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity', code: 'DEPENDENCY_CYCLE', cycle: ['x', 'y', 'x'] });
  });

  it('refuses more jobs than MAX_BATCH_JOBS', async () => {
    const response = await app.post('/jobs/batch', { jobs: Array.from({ length: 1501 }, () => ({ type: 'noop' })) });
    expect(response.status).toBe(400);
    expect(response.body.message).toBe('jobs lists 1501 jobs; at most 1500 are allowed (MAX_BATCH_JOBS)');
  });

  it('refuses more dependencies than MAX_DEPENDENCIES_PER_JOB', async () => {
    const jobs = Array.from({ length: 1001 }, (_, i) => ({ ref: `d${i}`, type: 'noop' }));
    const response = await app.post('/jobs/batch', { jobs: [...jobs, { type: 'noop', depends_on: jobs.map((j) => j.ref) }] });
    expect(response.status).toBe(400);
    expect(response.body.message).toBe('jobs[1001]: depends_on lists 1001 jobs; at most 1000 are allowed (MAX_DEPENDENCIES_PER_JOB)');
  });
});

describe('failure propagation', () => {
  it('cancels everything downstream, transitively, when a dependency fails for good', async () => {
    const items = await batch([
      { ref: 'root', type: 'noop', payload: { fail_attempts: 9 }, retry_config: { max_attempts: 1 } },
      { ref: 'child', type: 'noop', depends_on: ['root'] },
      { ref: 'grandchild', type: 'noop', depends_on: ['child'] },
      { ref: 'bystander', type: 'noop' },
    ]);
    const [root, child, grandchild, bystander] = await finished(items.map((i) => i.id));
    expect(root).toMatchObject({ status: 'failed', error: { code: 'HANDLER_ERROR' } });
    expect(child).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED', dependency_id: root.id, root_id: root.id } });
    expect(grandchild).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED', dependency_id: child.id, root_id: root.id } });
    expect(bystander.status).toBe('completed');
    const logs = await app.get(`/jobs/${grandchild.id}/logs`);
    expect(logs.body.items.map((l: any) => [l.message, l.data.status])).toEqual([
      ['job submitted as blocked', 'blocked'],
      ['job cancelled: a dependency did not complete', 'cancelled'],
    ]);
  });

  it('cancels at once a new job that depends on a failed one', async () => {
    const [failed] = await batch([{ type: 'noop', payload: { fail_attempts: 9 }, retry_config: { max_attempts: 1 } }]);
    await finished([failed.id]);
    const late = await app.submit(aJob({ depends_on: [failed.id] }));
    expect(late).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED', dependency_id: failed.id } });
  });

  it('cancels everything downstream when a job is cancelled', async () => {
    const items = await batch([
      { ref: 'slow', type: 'noop', payload: { duration_ms: 60_000 } },
      { ref: 'next', type: 'noop', depends_on: ['slow'] },
      { ref: 'last', type: 'noop', depends_on: ['next'] },
    ]);
    await expectEventually(async () => expect((await app.getJob(items[0].id)).status).toBe('running'));
    expect((await app.patch(`/jobs/${items[0].id}/cancel`)).status).toBe(200);
    const [slow, next, last] = await finished(items.map((i) => i.id));
    expect(slow.status).toBe('cancelled');
    expect(next).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED', root_id: slow.id } });
    expect(last).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED', dependency_id: next.id, root_id: slow.id } });
  });
});

describe('GET /jobs/{id}/graph', () => {
  it('returns the whole connected graph from any of its jobs', async () => {
    const items = await batch([
      { ref: 'a', type: 'noop', payload: { duration_ms: 100 } },
      { ref: 'b', type: 'noop', depends_on: ['a'] },
      { ref: 'c', type: 'noop', depends_on: ['a'] },
      { ref: 'd', type: 'noop', depends_on: ['b', 'c'] },
    ]);
    const [a, b, c, d] = items.map((i) => i.id);
    const graph = await app.get(`/jobs/${c}/graph`);
    expect(graph.status).toBe(200);
    expect(graph.body.nodes.map((n: any) => n.ref)).toEqual(['a', 'b', 'c', 'd']);
    expect(graph.body.nodes[0]).toMatchObject({ id: a, type: 'noop' });
    const edges = graph.body.edges.map((e: any) => `${e.from}>${e.to}`).sort();
    expect(edges).toEqual([`${a}>${b}`, `${a}>${c}`, `${b}>${d}`, `${c}>${d}`].sort());
    expect(graph.body.truncated).toBe(false);
    await finished(items.map((i) => i.id));
  });

  it('answers 404 for an unknown job', async () => {
    expect((await app.get('/jobs/01900000-0000-7000-8000-000000000000/graph')).status).toBe(404);
  });
});

describe('waiting reasons of blocked jobs', () => {
  it('list the dependencies still unfinished, as they are now', async () => {
    const items = await batch([
      { ref: 'quick', type: 'noop' },
      { ref: 'slow', type: 'noop', payload: { duration_ms: 60_000 } },
      { ref: 'after', type: 'noop', depends_on: ['quick', 'slow'] },
    ]);
    await expectEventually(async () => expect((await app.getJob(items[0].id)).status).toBe('completed'));
    const after = await app.getJob(items[2].id);
    expect(after.status).toBe('blocked');
    expect(after.waiting_reason).toEqual({
      code: 'WAITING_FOR_DEPENDENCIES',
      message: 'waiting for 1 of 2 dependencies to complete',
      pending_count: 1,
      pending_ids: [items[1].id],
    });
    await app.patch(`/jobs/${items[1].id}/cancel`);
  });
});

describe('a dependent released by a completion in the process that leads the scheduler', () => {
  // The completion's transaction places and starts it: its start is stamped with the same instant
  // (PostgreSQL's now() is the transaction's) as the completion of the job it waited for.
  const sameCommit = (dependent: any, dependency: any) => dependent.started_at === dependency.completed_at;

  it('starts in the completion’s own commit, its job_ready before its job_started', async () => {
    // The completion takes this path only when no placement pass is under way (the sweep's, or the tail of
    // the one that placed `a`): on a busy machine one chain may miss it, so up to five are tried.
    let a: any, b: any;
    for (let tries = 0; tries < 5 && !(b && sameCommit(b, a)); tries++) {
      [a, b] = await finished((await batch([{ ref: 'a', type: 'noop' }, { ref: 'b', type: 'noop', depends_on: ['a'] }])).map((i) => i.id));
      expect(b.status).toBe('completed');
    }
    expect(sameCommit(b, a)).toBe(true);
    const events = (await jobLogs(app, b.id)).filter((l) => l.data?.sequence !== undefined).map((l) => l.message);
    expect(events.slice(0, 3)).toEqual(['job submitted as blocked', 'dependencies completed: job is ready', `attempt 1 started on worker ${a.worker_id}`]);
  });

  it('leaves what does not fit on the workers to the placement pass, and books nothing twice', async () => {
    // 150 children released at once onto 100 slots: those that fit start with the completion, the others once slots free up.
    // As above, the completion takes this path only when no pass is under way: up to five families are tried.
    const children = Array.from({ length: 150 }, (_, i) => ({ ref: `kid${i}`, type: 'noop', payload: { duration_ms: 200 }, depends_on: ['root'] }));
    let withTheCompletion = 0;
    for (let tries = 0; tries < 5 && withTheCompletion === 0; tries++) {
      const [root, ...kids] = await finished((await batch([{ ref: 'root', type: 'noop' }, ...children])).map((i) => i.id));
      expect(kids.filter((k) => k.status !== 'completed')).toEqual([]);
      withTheCompletion = kids.filter((k) => sameCommit(k, root)).length;
    }
    expect(withTheCompletion).toBeGreaterThan(0);
    expect(withTheCompletion).toBeLessThanOrEqual(100);
    await expectEventually(async () => {
      for (const worker of await listWorkers(app)) expect(worker.allocated).toEqual(NOTHING_ALLOCATED);
    });
  });

  it('is left to the placement pass when a queue rule is to be weighed, and the rule holds', async () => {
    expect((await app.patch('/queues/noop', { concurrency_limit: 1 })).status).toBe(200);
    try {
      const items = await batch([
        { ref: 'first', type: 'noop' },
        ...['x', 'y', 'z'].map((ref) => ({ ref, type: 'noop', payload: { duration_ms: 100 }, depends_on: ['first'] })),
      ]);
      const [first, ...rest] = await finished(items.map((i) => i.id));
      for (const job of rest) expect({ status: job.status, sameCommit: sameCommit(job, first) }).toEqual({ status: 'completed', sameCommit: false });
      // One at a time (concurrency_limit 1): each starts once the one before it completed.
      const runs = rest.map((j) => [ms(j.started_at), ms(j.completed_at)]).sort((p, q) => p[0]! - q[0]!);
      for (let i = 1; i < runs.length; i++) expect(runs[i]![0]).toBeGreaterThanOrEqual(runs[i - 1]![1]!);
    } finally {
      expect((await app.patch('/queues/noop', { concurrency_limit: null })).status).toBe(200);
    }
  });
});
