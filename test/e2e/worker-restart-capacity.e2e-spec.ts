import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startWorkerProcess, stopAllProcesses } from '../support/processes.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * A worker process dies (kill -9) after the scheduler placed jobs on it, and a process with less room
 * registers under the same WORKER_ID before the old one is declared lost: the jobs placed for the old
 * capacity are placed again for the new one, never run beyond it.
 */

const TIMING = { HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: '30' };
const ID = 'w-shrinks';

let space: TestSpace;
let api: TestApp;
let db: pg.Client;

beforeAll(async () => {
  space = await createTestSpace('worker_restart_capacity');
  api = await startTestApp(space, { ROLE: 'api', ...TIMING });
  db = new pg.Client({ connectionString: space.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await stopAllProcesses();
  await db?.end();
  await api?.close();
});

describe('a worker restarted under its id with fewer cpu units', () => {
  it('runs the jobs placed on its earlier process within its own capacity', async () => {
    const big = await startWorkerProcess(space, { ...TIMING, WORKER_ID: ID, MAX_CPU_UNITS: '16', MAX_CONCURRENT_JOBS: '4', MAX_MEMORY_MB: '4096' });
    big.kill('SIGKILL');
    await big.exited;
    const jobs = [];
    for (let i = 0; i < 4; i++) {
      jobs.push(await api.submit({ type: 'noop', payload: { duration_ms: 1500 }, resource_requirements: { cpu_units: 4, memory_mb: 128 } }));
    }
    const ids = jobs.map((j) => j.id as string);
    // The scheduler does not know yet that the process died: it places all four on it.
    await expectEventually(async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND allocated AND worker_id = $2`, [ids, ID]);
      expect(rows[0].n).toBe(4);
    }, { timeoutMs: 10_000 });

    await startWorkerProcess(space, { ...TIMING, WORKER_ID: ID, MAX_CPU_UNITS: '4', MAX_CONCURRENT_JOBS: '4', MAX_MEMORY_MB: '4096' });
    let most = 0;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await db.query(
        `SELECT coalesce(sum(cpu_units) FILTER (WHERE status = 'running'), 0)::int AS cpu, count(*) FILTER (WHERE status = 'completed')::int AS done
         FROM jobs WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      most = Math.max(most, rows[0].cpu);
      if (rows[0].done === 4 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(most).toBeLessThanOrEqual(4);
    for (const id of ids) expect(await api.getJob(id)).toMatchObject({ status: 'completed', attempts: 1 });
  }, 60_000);
});
