import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { aJob } from '../builders/job.builder.js';
import { leaderGauge } from '../support/engine.js';
import { startApiProcess, startWorkerProcess, stopAllProcesses, type ApiProcess } from '../support/processes.js';
import { FlowControlState } from '../../src/scheduler/flow-control-state.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * Flow control across processes: an API process leads the scheduling, two worker processes run the
 * jobs. A type limit holds cluster-wide, fair turns let a small key through a big one, and the
 * settings survive the leader's death.
 */

const CLEAR = { paused: false, concurrency_limit: null, key_concurrency_limit: null, rate_limit: null };

let space: TestSpace;
let leader: ApiProcess;
let api: TestApp;
let db: pg.Client;

beforeAll(async () => {
  space = await createTestSpace('queues_flow');
  leader = await startApiProcess(space, { ROLE: 'api' });
  await expectEventually(async () => expect(await leaderGauge(leader)).toBe(1), { timeoutMs: 10_000 });
  api = await startTestApp(space, { ROLE: 'api' });
  await Promise.all([
    startWorkerProcess(space, { MAX_CONCURRENT_JOBS: '4', WORKER_ID: 'flow-w1' }),
    startWorkerProcess(space, { MAX_CONCURRENT_JOBS: '4', WORKER_ID: 'flow-w2' }),
  ]);
  db = new pg.Client({ connectionString: space.databaseUrl });
  await db.connect();
}, 90_000);

afterAll(async () => {
  await db?.end();
  await stopAllProcesses();
  await api?.close();
});

async function allCompleted(ids: string[], timeoutMs = 60_000) {
  await expectEventually(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'completed'`, [ids]);
    expect(rows[0].n).toBe(ids.length);
  }, { timeoutMs, intervalMs: 100 });
}

/** What the database holds about a job, its log, its type's settings and the workers: printed when a case fails. */
async function describeJob(id: string): Promise<string> {
  const job = await db.query(`SELECT * FROM jobs WHERE id = $1`, [id]);
  const logs = await db.query(`SELECT created_at, message, event FROM job_logs WHERE job_id = $1 ORDER BY id`, [id]);
  const queue = await db.query(`SELECT * FROM queues WHERE type = 'noop'`);
  const workers = await db.query(`SELECT id, status, last_heartbeat_at FROM workers`);
  const leadership = await db.query(`SELECT * FROM scheduler_leadership`);
  return JSON.stringify({ job: job.rows, logs: logs.rows, queue: queue.rows, workers: workers.rows, leadership: leadership.rows, now: new Date() }, null, 1);
}

describe('a type limit across two workers', () => {
  it('never has more than 2 jobs of the type placed or running while 50 flow', async () => {
    expect((await api.patch('/queues/noop', { ...CLEAR, concurrency_limit: 2 })).status).toBe(200);
    const batch = await api.post('/jobs/batch', { jobs: Array.from({ length: 50 }, () => aJob({ payload: { duration_ms: 30 } })) });
    expect(batch.status).toBe(201);
    const ids: string[] = batch.body.items.map((j: any) => j.id);
    let most = 0;
    let samples = 0;
    let workers = new Set<string>();
    for (;;) {
      const { rows } = await db.query(
        `SELECT count(*) FILTER (WHERE status = 'running' OR (status = 'ready' AND allocated))::int AS busy,
                count(*) FILTER (WHERE status = 'completed')::int AS done
         FROM jobs WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      most = Math.max(most, rows[0].busy);
      samples += 1;
      if (rows[0].done === ids.length) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const { rows } = await db.query(`SELECT DISTINCT worker_id FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
    workers = new Set(rows.map((r) => r.worker_id));
    expect(samples).toBeGreaterThan(5);
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBeGreaterThanOrEqual(1);
    expect(workers.size).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

describe('fair turns between concurrency keys', () => {
  it("a key with 5 jobs submitted after a key with 500 finishes before the big key's 50th job", async () => {
    expect((await api.patch('/queues/noop', CLEAR)).status).toBe(200);
    const big = await api.post('/jobs/batch', { jobs: Array.from({ length: 500 }, () => aJob({ concurrency_key: 'A', payload: { duration_ms: 20 } })) });
    const small = await api.post('/jobs/batch', { jobs: Array.from({ length: 5 }, () => aJob({ concurrency_key: 'B', payload: { duration_ms: 20 } })) });
    const bigIds: string[] = big.body.items.map((j: any) => j.id);
    const smallIds: string[] = small.body.items.map((j: any) => j.id);
    await allCompleted([...bigIds, ...smallIds], 120_000);
    const { rows } = await db.query(
      `SELECT (SELECT max(completed_at) FROM jobs WHERE id = ANY($2::uuid[])) AS small_done,
              (SELECT count(*)::int FROM jobs WHERE id = ANY($1::uuid[]) AND completed_at < (SELECT max(completed_at) FROM jobs WHERE id = ANY($2::uuid[]))) AS big_before`,
      [bigIds, smallIds],
    );
    expect(rows[0].big_before).toBeLessThan(50);
  }, 180_000);
});

describe('the reasons of held jobs', () => {
  it('stay on every waiting job of a key at its limit while its short jobs come and go', async () => {
    expect((await api.patch('/queues/noop', { ...CLEAR, key_concurrency_limit: 1 })).status).toBe(200);
    const batch = await api.post('/jobs/batch', { jobs: Array.from({ length: 200 }, () => aJob({ concurrency_key: 'R', payload: { duration_ms: 50 } })) });
    const ids: string[] = batch.body.items.map((j: any) => j.id);
    try {
      // Past a reasons refresh (every second) with jobs of the key ending and starting all along.
      await expectEventually(async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'completed'`, [ids]);
        expect(rows[0].n).toBeGreaterThanOrEqual(5);
      }, { timeoutMs: 20_000, intervalMs: 100 });
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const { rows } = await db.query(
        `SELECT coalesce(waiting_reason->>'code', 'none') AS code, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'ready' AND NOT allocated GROUP BY 1`,
        [ids],
      );
      expect(rows.filter((r) => r.code !== 'CONCURRENCY_LIMIT')).toEqual([]);
      expect(rows[0]?.n).toBeGreaterThan(100);
    } finally {
      expect((await api.post('/jobs/bulk/cancel', { ids })).status).toBe(200);
    }
  }, 60_000);
});

describe('a rate limit across two workers', () => {
  it('5 starts per second hold over more than 10 seconds, counted from started_at', async () => {
    expect((await api.patch('/queues/noop', { ...CLEAR, rate_limit: { limit: 5, interval_ms: 1000 } })).status).toBe(200);
    const batch = await api.post('/jobs/batch', { jobs: Array.from({ length: 55 }, () => aJob({ payload: { duration_ms: 10 } })) });
    const ids: string[] = batch.body.items.map((j: any) => j.id);
    await allCompleted(ids, 60_000);
    const { rows } = await db.query(`SELECT (extract(epoch FROM started_at) * 1000)::float8 AS at FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY started_at`, [ids]);
    const starts = rows.map((r) => Number(r.at));
    expect(starts[starts.length - 1]! - starts[0]!).toBeGreaterThanOrEqual(10_000);
    for (let i = 5; i < starts.length; i += 1) expect(starts[i]! - starts[i - 5]!).toBeGreaterThanOrEqual(1000);
  }, 90_000);
});

describe('settings and a leader change', () => {
  it('a pause set before the leader dies still holds on the next leader, and a resume there runs the jobs', async () => {
    expect((await api.patch('/queues/noop', { ...CLEAR, paused: true })).status).toBe(200);
    leader.kill('SIGKILL');
    await leader.waitForExit();
    await expectEventually(async () => expect(await leaderGauge(api)).toBe(1), { timeoutMs: 20_000 });
    const job = await api.submit(aJob());
    try {
      await expectEventually(async () => expect((await api.getJob(job.id)).waiting_reason).toMatchObject({ code: 'QUEUE_PAUSED' }), { timeoutMs: 20_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await describeJob(job.id)}`);
    }
    expect((await api.getJob(job.id)).status).toBe('ready');
    expect((await api.patch('/queues/noop', { paused: false })).status).toBe(200);
    await allCompleted([job.id], 20_000);
  }, 60_000);
});

describe('counts by type and status', () => {
  it('never drift from the jobs table after a mixed run: retries, failures, cancels, a lost worker', async () => {
    expect((await api.patch('/queues/noop', CLEAR)).status).toBe(200);
    const doomed = await startWorkerProcess(space, { MAX_CONCURRENT_JOBS: '4', WORKER_ID: 'flow-doomed', HEARTBEAT_INTERVAL_MS: '300' });
    const jobs = [
      ...Array.from({ length: 10 }, () => aJob({ payload: { fail_attempts: 1 }, retry_config: { max_attempts: 2, initial_delay_ms: 50 } })),
      ...Array.from({ length: 5 }, () => aJob({ payload: { fail_permanently: true }, retry_config: { max_attempts: 1 } })),
      ...Array.from({ length: 10 }, () => aJob({ payload: { duration_ms: 3000 } })),
      ...Array.from({ length: 10 }, () => aJob({ concurrency_key: 'mixed', payload: { duration_ms: 20 } })),
    ];
    const batch = await api.post('/jobs/batch', { jobs });
    const ids: string[] = batch.body.items.map((j: any) => j.id);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const id of ids.slice(25, 28)) await api.patch(`/jobs/${id}/cancel`);
    expect((await api.post('/jobs/bulk/cancel', { ids: ids.slice(28, 31) })).status).toBe(200);
    doomed.kill('SIGKILL');
    await expectEventually(async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status NOT IN ('completed', 'failed', 'timeout', 'cancelled')`, [ids]);
      expect(rows[0].n).toBe(0);
    }, { timeoutMs: 90_000, intervalMs: 250 });
    // A deletion (DELETE /jobs/{id}, as retention deletes) moves the counts too.
    const deleted = ids.slice(0, 3);
    for (const id of deleted) expect((await api.request('DELETE', `/jobs/${id}`)).status).toBe(204);
    await expectCountsMatchTable();

    // Counts that drifted (written behind the triggers' back) are found and rebuilt by the leader's check.
    await db.query(`INSERT INTO job_count_deltas (type, status, delta) VALUES ('noop', 'failed', 7)`);
    await db.query(`UPDATE job_counts SET count = count + 3 WHERE type = 'noop' AND status = 'completed'`);
    const drift = await api.app.get(FlowControlState).checkCounts();
    expect(drift).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'noop', status: 'failed' }),
        expect.objectContaining({ type: 'noop', status: 'completed' }),
      ]),
    );
    expect(drift).toHaveLength(2);
    await expectCountsMatchTable();
    expect(await api.app.get(FlowControlState).checkCounts()).toEqual([]);
    const metrics = (await api.get('/metrics')).body as string;
    expect(metrics).toMatch(/draconic_job_counts_drift_total\{type="noop",status="failed"\} 1/);
  }, 150_000);
});

/** GET /queues' counts equal a count over the jobs table, for every type and status. */
async function expectCountsMatchTable(): Promise<void> {
  const { rows } = await db.query(`SELECT type, status::text, count(*)::int AS n FROM jobs GROUP BY type, status`);
  const queues = (await api.get('/queues')).body.items as Array<{ type: string; counts: Record<string, number> }>;
  for (const q of queues) {
    for (const [status, n] of Object.entries(q.counts)) {
      const actual = rows.find((r) => r.type === q.type && r.status === status)?.n ?? 0;
      expect([q.type, status, n]).toEqual([q.type, status, actual]);
    }
  }
  const { rows: counted } = await db.query(
    `SELECT type, status::text, sum(n)::int AS n FROM (SELECT type, status, count AS n FROM job_counts UNION ALL SELECT type, status, delta FROM job_count_deltas) c
     GROUP BY type, status HAVING sum(n) <> 0`,
  );
  const key = (r: { type: string; status: string; n: number }) => `${r.type}/${r.status}=${r.n}`;
  expect(counted.map(key).sort()).toEqual(rows.map(key).sort());
}
