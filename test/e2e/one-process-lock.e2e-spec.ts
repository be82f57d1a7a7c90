import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { SingleProcessLeadership } from '../../src/leadership/single-process-leadership.js';
import { PgProxy } from '../support/pg-proxy.js';
import { createTestSpace, type TestSpace } from '../support/test-app.js';

/** The session advisory lock that keeps a second process off a database used without Redis. */
const ONE_PROCESS_LOCK = 7_236_003;

let space: TestSpace;
let other: pg.Client;

beforeAll(async () => {
  space = await createTestSpace('one_process_lock');
  other = new pg.Client({ connectionString: space.databaseUrl });
  await other.connect();
});

afterAll(async () => {
  await other.end();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(10);
  return condition();
}

/** Ends the lock's connection and takes the lock from another session before the holder takes it again. */
async function takeLockAway(): Promise<boolean> {
  for (let tries = 0; tries < 20; tries++) {
    await other.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'draconic-one-process' AND datname = current_database()`);
    for (let i = 0; i < 200; i++) {
      const { rows } = await other.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ONE_PROCESS_LOCK]);
      if (rows[0].locked) return true;
      await sleep(1);
    }
  }
  return false;
}

/** A process's one-process leadership, with what it reported: its changes, and how often it was displaced. */
async function leading(databaseUrl = space.databaseUrl, timeouts?: { connectMs: number; queryMs: number }) {
  let displaced = 0;
  const leadership = new SingleProcessLeadership(databaseUrl, () => displaced++, timeouts);
  const changes: boolean[] = [];
  leadership.onChange((leader) => changes.push(leader));
  await leadership.start();
  return { leadership, changes, displaced: () => displaced };
}

describe('one process on a database without Redis', () => {
  it('stops scheduling when its lock connection drops, takes the lock again, and shuts down when another process took it meanwhile', async () => {
    const { leadership, changes, displaced } = await leading();
    try {
      expect(leadership.isLeader()).toBe(true);

      // The connection drops and nobody else wants the lock: it is taken again.
      await other.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'draconic-one-process' AND datname = current_database()`);
      expect(await until(() => changes.length >= 3, 10_000)).toBe(true);
      expect(changes.slice(0, 3)).toEqual([true, false, true]);
      expect(displaced()).toBe(0);

      // It drops again and another process takes the lock first: this one is not the leader and shuts down.
      expect(await takeLockAway()).toBe(true);
      expect(await until(() => displaced() > 0, 10_000)).toBe(true);
      expect(leadership.isLeader()).toBe(false);
      expect(displaced()).toBe(1);
    } finally {
      await leadership.stop();
      await other.query('SELECT pg_advisory_unlock_all()');
    }
  }, 60_000);

  it("takes the lock back from its own leftover session (a connection lost on this side only) instead of shutting down", async () => {
    const { leadership, changes, displaced } = await leading();
    try {
      // The client sees its connection end while the server's session, and so the lock, lives on.
      const held = (leadership as unknown as { client: pg.Client }).client;
      held.emit('end');
      expect(await until(() => changes.length >= 3, 10_000)).toBe(true);
      expect(changes.slice(0, 3)).toEqual([true, false, true]);
      expect(displaced()).toBe(0);
      const { rows } = await other.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [ONE_PROCESS_LOCK],
      );
      expect(rows[0].n).toBe(1);
    } finally {
      await leadership.stop();
    }
  }, 60_000);

  it('takes the lock back after a try that met a host answering nothing: the try times out and the next one goes through', async () => {
    const proxy = await PgProxy.start(space.databaseUrl);
    const { leadership, changes, displaced } = await leading(proxy.url(space.databaseUrl), { connectMs: 500, queryMs: 500 });
    try {
      // The lock's connection is lost on this side, and the tries to take the lock again meet a host that
      // accepts connections and answers nothing (a fenced old primary)...
      proxy.set('blackhole');
      (leadership as unknown as { client: pg.Client }).client.emit('end');
      expect(await until(() => changes.length >= 2, 5_000)).toBe(true);
      await sleep(1_500);
      // ...until the database answers again; what was sent meanwhile stays unanswered for good.
      proxy.set('silence');
      expect(await until(() => changes.length >= 3, 10_000)).toBe(true);
      expect(changes.slice(0, 3)).toEqual([true, false, true]);
      expect(displaced()).toBe(0);
    } finally {
      await leadership.stop();
      await proxy.close();
    }
  }, 60_000);
});
