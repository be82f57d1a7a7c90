import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { retryLostRaces } from '../../src/database/db-errors.js';
import { Sql } from '../../src/database/sql.js';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A release's migration adds a column to a table while processes of the release before it still run
 * (a rolling deploy). Their statements prepared with `*` (the transitions' `(m.row).*`, the workers'
 * `SELECT *`) are then refused by PostgreSQL on every connection that prepared them ("cached plan must
 * not change result type", 0A000): failures, cancels, reruns and the leader's read of the workers
 * failed until each connection happened to close. The statement is prepared afresh under a new name.
 */
let app: TestApp;
let client: pg.Client;

beforeAll(async () => {
  ({ app, db: client } = await startTestAppWithDatabase('prepared_after_migration', { ROLE: 'api', DB_POOL_SIZE: '10' }));
  await client.query(`CREATE TABLE probe_rows (a int)`);
  await client.query(`INSERT INTO probe_rows VALUES (1)`);
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

describe('a statement prepared with * when its table gains a column', () => {
  it('is prepared again and answers with the new columns, on every connection', async () => {
    const sql = app.app.get(Sql);
    // Twelve at once over a pool of ten: the statement is prepared on every connection.
    const everywhere = () => Promise.all(Array.from({ length: 12 }, () => sql.query<Record<string, unknown>>(`SELECT p.*, pg_sleep(0.05)::text AS slept FROM probe_rows p`)));
    for (const rows of await everywhere()) expect(rows).toEqual([{ a: 1, slept: '' }]);
    await client.query(`ALTER TABLE probe_rows ADD COLUMN b int DEFAULT 2`);
    for (const rows of await everywhere()) expect(rows).toEqual([{ a: 1, b: 2, slept: '' }]);
    // Inside a transaction the first run is refused (the transaction is aborted); run again (retryLostRaces), it goes through.
    await client.query(`ALTER TABLE probe_rows ADD COLUMN c int DEFAULT 3`);
    const inTransaction = () => sql.transaction((tx) => sql.query(`SELECT p.*, pg_sleep(0.05)::text AS slept FROM probe_rows p`, [], tx));
    for (const rows of await Promise.all(Array.from({ length: 12 }, () => retryLostRaces(inTransaction)))) expect(rows).toEqual([{ a: 1, b: 2, c: 3, slept: '' }]);
  });

  it('fails no request when jobs gains a column under the transitions prepared on the pool (cancels over HTTP)', async () => {
    const jobs = await Promise.all(Array.from({ length: 24 }, () => app.submit({ type: 'noop', payload: {} })));
    // Cancels at once over the pool: the transition's statement is prepared on several connections.
    for (const r of await Promise.all(jobs.slice(0, 12).map((j) => app.patch(`/jobs/${j.id}/cancel`)))) expect(r.status).toBe(200);
    await client.query(`ALTER TABLE jobs ADD COLUMN added_by_a_newer_release int`);
    try {
      const answers = await Promise.all(jobs.slice(12).map((j) => app.patch(`/jobs/${j.id}/cancel`)));
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      await client.query(`ALTER TABLE jobs ADD COLUMN and_another int`);
      const retries = await Promise.all(jobs.map((j) => app.post(`/jobs/${j.id}/retry`, {})));
      expect(retries.map((r) => r.status)).toEqual(retries.map(() => 200));
    } finally {
      await client.query(`ALTER TABLE jobs DROP COLUMN IF EXISTS added_by_a_newer_release, DROP COLUMN IF EXISTS and_another`);
    }
  });
});
