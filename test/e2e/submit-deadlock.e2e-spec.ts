import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A submit with dependencies locks them (FOR SHARE, in id order) and may meet a transaction that locks
 * the same rows in another order: a completion's group commit locks in the order its jobs finished.
 * PostgreSQL breaks the deadlock by rolling one back whole. When that is the submit, it is run again:
 * answering 409 would tell the client the job was refused, a status DESIGN §6 does not give a submit.
 */

let app: TestApp;
let other: pg.Client;

beforeAll(async () => {
  // No worker: the dependencies stay unfinished.
  ({ app, db: other } = await startTestAppWithDatabase('submit_deadlock', { ROLE: 'api' }));
});

afterAll(async () => {
  await other?.end();
  await app?.close();
});

/**
 * Until a session of this test's database other than `other` waits for a lock (the request under test), at
 * most 2 s. Only this database: the other test files running beside this one wait for locks of their own.
 */
async function untilAnotherSessionWaits(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await other.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
    );
    if (rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a request that loses a deadlock', () => {
  it('a submit whose dependencies it locks is stored (201), not refused', async () => {
    const [d1, d2] = [(await app.submit({ type: 'noop' })).id as string, (await app.submit({ type: 'noop' })).id as string].sort();
    // The other transaction holds the second dependency, and will reach for the first. Its own deadlock
    // check waits longer than the submit's (1 s), so PostgreSQL rolls the submit back.
    await other.query('BEGIN');
    await other.query(`SET LOCAL deadlock_timeout = '20s'`);
    await other.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [d2]);
    const submitting = app.post('/jobs', { type: 'noop', depends_on: [d1, d2] });
    await untilAnotherSessionWaits(); // the submit holds the first FOR SHARE and waits for the second
    await other.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [d1]); // granted once the submit is rolled back
    await other.query('COMMIT');
    const response = await submitting;
    expect(response.status).toBe(201);
    expect(response.body.depends_on.sort()).toEqual([d1, d2]);
  });

  it('a batch whose dependencies it locks is stored (201), not refused', async () => {
    const [d1, d2] = [(await app.submit({ type: 'noop' })).id as string, (await app.submit({ type: 'noop' })).id as string].sort();
    await other.query('BEGIN');
    await other.query(`SET LOCAL deadlock_timeout = '20s'`);
    await other.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [d2]);
    const submitting = app.post('/jobs/batch', { jobs: [{ type: 'noop', depends_on: [d1, d2] }, { type: 'noop' }] });
    await untilAnotherSessionWaits();
    await other.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [d1]);
    await other.query('COMMIT');
    const response = await submitting;
    expect(response.status).toBe(201);
    expect(response.body.items).toHaveLength(2);
    expect(response.body.items[0].depends_on.sort()).toEqual([d1, d2]);
  });

  it('a cancel that loses a deadlock on a job downstream is run again (200), not refused', async () => {
    const root = await app.submit({ type: 'noop' });
    const dependent = await app.submit({ type: 'noop', depends_on: [root.id] });
    // The other transaction holds the dependent, and will reach for the root: the cancel locks the root,
    // then waits for the dependent in its cascade.
    await other.query('BEGIN');
    await other.query(`SET LOCAL deadlock_timeout = '20s'`);
    await other.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [dependent.id]);
    const cancelling = app.patch(`/jobs/${root.id}/cancel`);
    await untilAnotherSessionWaits();
    await other.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [root.id]);
    await other.query('COMMIT');
    const response = await cancelling;
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('cancelled');
    expect((await app.getJob(dependent.id)).status).toBe('cancelled');
  });
});
