import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { SCHEDULER_TIMING } from '../../src/scheduler/scheduler-timing.js';
import { Redis } from 'ioredis';
import { createTestSpace, expectEventually, startTestApp, TEST_REDIS_URL, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * A worker that heartbeats (PostgreSQL) but never starts what it is handed (its link to Redis is down):
 * after a few hand-overs its placements are taken back and placed on another worker (DESIGN §4:
 * placed but not started after a grace period, placed again). Two workers are rows here, kept alive by
 * the test's heartbeats; nothing consumes their queues, so only the scheduler's choice is observed.
 */

let space: TestSpace;
let app: TestApp;
let client: pg.Client;
let heartbeat: NodeJS.Timeout;
const timing = SCHEDULER_TIMING as { placementGraceMs: number };
const graceMs = timing.placementGraceMs;

beforeAll(async () => {
  timing.placementGraceMs = 1_000; // hand over again every second, not every 5 s: the same path, sooner
  space = await createTestSpace('stale_hand_over');
  app = await startTestApp(space, { ROLE: 'api' });
  client = new pg.Client({ connectionString: space.databaseUrl });
  await client.connect();
  await client.query(
    `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb)
     VALUES ('w-a', 'test', 1, 'active', 4, 8, 4096), ('w-b', 'test', 2, 'active', 4, 8, 4096)`,
  );
  heartbeat = setInterval(() => void client.query(`UPDATE workers SET last_heartbeat_at = now()`).catch(() => undefined), 1_000);
});

afterAll(async () => {
  clearInterval(heartbeat);
  await client?.end();
  await app?.close();
  timing.placementGraceMs = graceMs;
});

const placement = async (id: string) =>
  (await client.query(`SELECT worker_id, allocated FROM jobs WHERE id = $1`, [id])).rows[0] as { worker_id: string | null; allocated: boolean };

describe('placements handed over again because Redis lost the queues', () => {
  it('are not counted against their worker: resets in a row never pass it over', async () => {
    const sentinel = `${space.redisPrefix}:dispatch-sentinel`;
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const job = await app.submit({ type: 'noop' });
      await expectEventually(async () => expect(await placement(job.id)).toEqual({ worker_id: 'w-a', allocated: true }), { timeoutMs: 10_000 });
      // Each missing sentinel reads as Redis emptied: every placement not started is handed over again at
      // once. Five in a row (three counted hand-overs pass a worker over) leave the job where it is.
      for (let reset = 0; reset < 5; reset += 1) {
        await expectEventually(async () => expect(await redis.exists(sentinel)).toBe(1), { timeoutMs: 5_000, intervalMs: 50 });
        await redis.del(sentinel);
      }
      await expectEventually(async () => expect(await redis.exists(sentinel)).toBe(1), { timeoutMs: 5_000, intervalMs: 50 });
      expect(await placement(job.id)).toEqual({ worker_id: 'w-a', allocated: true });
      expect((await app.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});

describe('a placement its live worker never starts', () => {
  it('is taken back after a few hand-overs and placed on another worker', async () => {
    const job = await app.submit({ type: 'noop' });
    await expectEventually(async () => expect(await placement(job.id)).toEqual({ worker_id: 'w-a', allocated: true }), { timeoutMs: 10_000 });
    // Handed over again every grace period; taken back after the third hand-over, and w-a passed over for 30 s.
    await expectEventually(async () => expect(await placement(job.id)).toEqual({ worker_id: 'w-b', allocated: true }), { timeoutMs: 15_000, intervalMs: 250 });
    expect((await app.getJob(job.id)).status).toBe('ready');
  }, 30_000);
});

describe('a placement of a rate-limited type its worker does not start in time', () => {
  it('is taken back at once, never handed over again, and waits for the limit like any start', async () => {
    // Handed over again, it would start whenever its worker got it, outside the window the limit counted it in.
    expect((await app.patch('/queues/data_export', { rate_limit: { limit: 1, interval_ms: 60_000 } })).status).toBe(200);
    const job = await app.submit({ type: 'data_export', payload: { format: 'csv', records: [{ a: 1 }] } });
    const placedAt = async () =>
      (await client.query(`SELECT placed_at FROM jobs WHERE id = $1`, [job.id])).rows[0].placed_at as Date | null;
    let first: number | null = null;
    await expectEventually(async () => expect((first = (await placedAt())?.getTime() ?? null)).not.toBeNull(), { timeoutMs: 10_000, intervalMs: 50 });
    const seen = new Set<number>();
    await expectEventually(
      async () => {
        const at = await placedAt();
        if (at) seen.add(at.getTime());
        expect(at).toBeNull();
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect([...seen]).toEqual([first]);
    // The one start the limit allows this minute was booked at the placement: the job waits for the window.
    await expectEventually(async () => expect((await app.getJob(job.id)).waiting_reason?.code).toBe('RATE_LIMITED'), { timeoutMs: 10_000 });
    expect(await placement(job.id)).toEqual({ worker_id: null, allocated: false });
  }, 30_000);
});
