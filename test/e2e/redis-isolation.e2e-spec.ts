import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { createTestSpace, expectEventually, startTestApp, TEST_REDIS_URL, type TestApp } from '../support/test-app.js';
import { runId } from '../support/test-env.js';

/**
 * Two deployments on one Redis server, one prefix, two database indexes: Redis's pub/sub ignores the
 * index, so the event channels must name it, or each deployment's clients hear the other's jobs.
 */

const prefix = `test:${runId()}:shared-prefix`;
const otherDb = (() => {
  const url = new URL(TEST_REDIS_URL);
  const db = Number(url.pathname.slice(1) || 0);
  url.pathname = `/${db === 13 ? 14 : 13}`;
  return url.toString();
})();

let here: TestApp;
let there: TestApp;
let socket: Socket;

beforeAll(async () => {
  here = await startTestApp(await createTestSpace('isolation_here'), { REDIS_PREFIX: prefix, WORKER_ID: 'here' });
  there = await startTestApp(await createTestSpace('isolation_there'), { REDIS_PREFIX: prefix, REDIS_URL: otherDb, WORKER_ID: 'there' });
});

afterAll(async () => {
  socket?.disconnect();
  await here?.close();
  await there?.close();
  // The other database's keys of this run (Bull's queues), which the run's teardown does not look for.
  const redis = new Redis(otherDb);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
});

describe('deployments sharing a Redis server and a prefix under different database indexes', () => {
  it('each stream carries its own deployment’s jobs only', async () => {
    socket = io(`${here.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false });
    const seen = new Set<string>();
    socket.on('job_update', (u: { job_id: string }) => seen.add(u.job_id));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const elsewhere = await there.submit({ type: 'noop' });
    const mine = await here.submit({ type: 'noop' });
    await expectEventually(async () => {
      expect((await there.getJob(elsewhere.id)).status).toBe('completed');
      expect(seen.has(mine.id)).toBe(true);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.has(elsewhere.id)).toBe(false);
  });
});
