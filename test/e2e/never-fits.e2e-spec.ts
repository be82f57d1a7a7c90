import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { JobQueueService } from '../../src/jobs/job-queue.service.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Ready jobs that no worker can hold even empty (DESIGN §4): the API lets a job ask for 8 cpu units,
 * the only worker has 2. The worker is a row here, kept alive by the test's heartbeats; nothing
 * consumes its queue, so only the scheduler's placement is observed.
 */

let app: TestApp;
let client: pg.Client;
let heartbeat: NodeJS.Timeout;

beforeAll(async () => {
  const space = await createTestSpace('never_fits');
  app = await startTestApp(space, { ROLE: 'api', MAX_CPU_UNITS: '8', MAX_MEMORY_MB: '4096' });
  client = new pg.Client({ connectionString: space.databaseUrl });
  await client.connect();
  await client.query(
    `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb) VALUES ('w-small', 'test', 1, 'active', 4, 2, 4096)`,
  );
  heartbeat = setInterval(() => void client.query(`UPDATE workers SET last_heartbeat_at = now()`).catch(() => undefined), 1_000);
});

afterAll(async () => {
  clearInterval(heartbeat);
  await client?.end();
  await app?.close();
});

describe('jobs larger than every worker', () => {
  it('do not hold back a job queued after more of them than a pass and its look behind read, and each says it never fits', async () => {
    const large = Array.from({ length: 2_100 }, () => ({ type: 'noop', resource_requirements: { cpu_units: 4 } }));
    expect((await app.post('/jobs/batch', { jobs: large })).status).toBe(201);
    const small = await app.submit({ type: 'noop', resource_requirements: { cpu_units: 1 } });

    // Same priority, due after all of them: placed on the worker all the same.
    await expectEventually(
      async () => {
        const { rows } = await client.query(`SELECT allocated, worker_id FROM jobs WHERE id = $1`, [small.id]);
        expect(rows[0]).toEqual({ allocated: true, worker_id: 'w-small' });
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );

    // Every one of the large jobs says why it waits: the worker lacks the cpu units even empty.
    await expectEventually(
      async () => {
        const { rows } = await client.query(
          `SELECT waiting_reason->>'code' AS code, waiting_reason->'never_fits' AS never_fits, count(*)::int AS n
           FROM jobs WHERE status = 'ready' AND NOT allocated GROUP BY 1, 2`,
        );
        expect(rows).toEqual([{ code: 'INSUFFICIENT_RESOURCES', never_fits: { cpu_units: 1, memory_mb: 0 }, n: 2_100 }]);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    const reason = (await app.getJob((await client.query(`SELECT id FROM jobs WHERE cpu_units = 4 LIMIT 1`)).rows[0].id)).waiting_reason;
    expect(reason).toMatchObject({ message: '0/1 workers fit: 1 insufficient cpu_units', requested: { cpu_units: 4 } });

    await app.post('/jobs/bulk/cancel', { filter: { status: ['ready'] } });
  }, 60_000);

  it('stay out of the fair read of keyed jobs too, so a keyed job that fits is read behind a window of them', async () => {
    await client.query(`UPDATE workers SET status = 'stopped'`); // nothing is placed meanwhile: the read alone is looked at
    try {
      const large = Array.from({ length: 150 }, () => ({ type: 'noop', concurrency_key: 'tenant-a', resource_requirements: { cpu_units: 4 } }));
      expect((await app.post('/jobs/batch', { jobs: large })).status).toBe(201);
      const small = await app.submit({ type: 'noop', concurrency_key: 'tenant-a', resource_requirements: { cpu_units: 1 } });
      const queue = app.app.get(JobQueueService);
      const noneHeld = { types: [], pairs: [] };
      const unbounded = await queue.fairReadyQueue(100, noneHeld);
      expect(unbounded.map((j) => j.id)).not.toContain(small.id); // the 100 oldest, all too large
      const bounded = await queue.fairReadyQueue(100, noneHeld, { cpuUnits: 2, memoryMb: 4096 });
      expect(bounded.map((j) => j.id)).toEqual([small.id]);
    } finally {
      await app.post('/jobs/bulk/cancel', { filter: { status: ['ready'] } });
      await client.query(`UPDATE workers SET status = 'active'`);
    }
  }, 60_000);
});
