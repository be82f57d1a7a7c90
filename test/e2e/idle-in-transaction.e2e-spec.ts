import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * A process frozen inside a transaction (SIGSTOP, a VM pause) keeps its row locks for as long as it is
 * frozen, and the other processes wait on them: the leader's lost-work sweep filled its whole pool so.
 * PostgreSQL ends the service's sessions left idle in a transaction past DB_IDLE_IN_TRANSACTION_TIMEOUT_MS.
 * A transaction on one of the service's own pooled connections that sends nothing stands in for the frozen
 * process here.
 */

let space: TestSpace;
let app: TestApp;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  space = await createTestSpace('idle_in_transaction');
  app = await startTestApp(space, { DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1000' });
});

afterAll(async () => {
  await app?.close();
});

describe('a transaction of the service left idle', () => {
  it('is ended by PostgreSQL, and its row locks go with it', async () => {
    const job = await app.submit({ type: 'noop' });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('completed'));
    const frozen = app.app.get(DataSource).createQueryRunner();
    await frozen.connect();
    await frozen.startTransaction();
    await frozen.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [job.id]);
    await sleep(2_500);
    const other = new pg.Client({ connectionString: space.databaseUrl });
    await other.connect();
    try {
      await other.query(`SET lock_timeout = '3s'`);
      // Before: the lock was still held, and this waited out its lock_timeout.
      const updated = await other.query('UPDATE jobs SET updated_at = now() WHERE id = $1', [job.id]);
      expect(updated.rowCount).toBe(1);
    } finally {
      await other.end();
    }
    await expect(frozen.query('SELECT 1')).rejects.toThrow();
    await frozen.release().catch(() => undefined);
    // The pool drops the ended connection; the service goes on.
    const next = await app.submit({ type: 'noop' });
    await expectEventually(async () => expect((await app.getJob(next.id)).status).toBe('completed'));
  }, 30_000);
});
