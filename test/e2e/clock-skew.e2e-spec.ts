import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { startApiProcess, stopAllProcesses, type ApiProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, type TestSpace } from '../support/test-app.js';

/**
 * A service whose machine's clock disagrees with PostgreSQL's by a few seconds (a `ROLE=all` process
 * forked with test/support/skewed-clock.mjs) goes by PostgreSQL's clock: schedules fire on their ticks,
 * delayed jobs start at their `run_at`, backoffs last as long as asked.
 */

const SKEWED_CLOCK = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/skewed-clock.mjs')).href;

let space: TestSpace;
let db: pg.Client;

beforeAll(async () => {
  space = await createTestSpace('clock_skew');
  db = new pg.Client({ connectionString: space.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await stopAllProcesses();
  await db?.end();
});

const skewed = (skewMs: number): Promise<ApiProcess> =>
  startApiProcess(space, { ROLE: 'all', NODE_OPTIONS: `--import ${SKEWED_CLOCK}`, TEST_CLOCK_SKEW_MS: String(skewMs), HEARTBEAT_INTERVAL_MS: '300' });

const databaseNow = async (): Promise<number> => (await db.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now.getTime();

const ms = (iso: string | null | undefined): number => new Date(iso!).getTime();

async function finished(api: ApiProcess, id: string, timeoutMs = 15_000) {
  return expectEventually(async () => {
    const job = await api.getJob(id);
    expect(job.status).toBe('completed');
    return job;
  }, { timeoutMs, intervalMs: 100 });
}

describe('a service whose clock is 3 s behind PostgreSQL’s', () => {
  let api: ApiProcess;
  beforeAll(async () => {
    api = await skewed(-3000);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('fires a one-second schedule once a tick, on time, none skipped', async () => {
    const created = await api.post('/schedules', { name: 'behind-every-second', cron: '* * * * * *', job: { type: 'noop', payload: {} } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await new Promise((resolve) => setTimeout(resolve, 5500));
    await api.patch(`/schedules/${id}`, { paused: true });
    const jobs = (await api.get(`/jobs?schedule_id=${id}&limit=100`)).body.items as Array<{ scheduled_for: string; created_at: string }>;
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    const ticks = jobs.map((j) => ms(j.scheduled_for)).sort((a, b) => a - b);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    for (const job of jobs) expect(ms(job.created_at) - ms(job.scheduled_for)).toBeLessThan(1000);
    const schedule = (await api.get(`/schedules/${id}`)).body;
    expect(schedule.skip_count).toBe(0);
  }, 20_000);

  it('waits a retry’s whole backoff', async () => {
    const job = await api.submit({ type: 'noop', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 2, initial_delay_ms: 2000, backoff_multiplier: 1 } });
    const done = await finished(api, job.id);
    const failedAt = (await db.query<{ at: Date }>(`SELECT min(created_at) AS at FROM job_logs WHERE job_id = $1 AND event = 'job_failed'`, [job.id])).rows[0]!.at;
    expect(ms(done.started_at) - failedAt.getTime()).toBeGreaterThanOrEqual(1900);
  }, 20_000);
});

describe('a service whose clock is 3 s ahead of PostgreSQL’s', () => {
  let api: ApiProcess;
  beforeAll(async () => {
    api = await skewed(3000);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('starts a delayed job no earlier than its run_at', async () => {
    const runAt = new Date((await databaseNow()) + 2000).toISOString();
    const job = await api.submit({ type: 'noop', payload: {}, run_at: runAt });
    expect(job.status).toBe('pending');
    const done = await finished(api, job.id);
    expect(ms(done.started_at)).toBeGreaterThanOrEqual(ms(runAt));
  }, 20_000);

  it('counts delay_ms from the submit as PostgreSQL dates it', async () => {
    const job = await api.submit({ type: 'noop', payload: {}, delay_ms: 1000 });
    expect(ms(job.run_at) - ms(job.created_at)).toBeGreaterThan(800);
    expect(ms(job.run_at) - ms(job.created_at)).toBeLessThan(1300);
  });
});
