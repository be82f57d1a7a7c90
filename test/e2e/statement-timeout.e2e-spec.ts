import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/** A statement the service gives up on (DB_QUERY_TIMEOUT_MS) stops in PostgreSQL too, instead of running on. */
let app: TestApp;
let client: pg.Client;

beforeAll(async () => {
  ({ app, db: client } = await startTestAppWithDatabase('statement_timeout', { ROLE: 'api', DB_QUERY_TIMEOUT_MS: '1000' }));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

describe('DB_QUERY_TIMEOUT_MS', () => {
  it('is the server’s statement_timeout as well: the statement given up on is not left running', async () => {
    const started = Date.now();
    await expect(app.app.get(DataSource).query(`SELECT pg_sleep(5), 'statement-timeout-probe'`)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(4_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%statement-timeout-probe%' AND state = 'active' AND pid <> pg_backend_pid()`);
    expect(rows[0].n).toBe(0);
  });

  it('answers a request whose statement PostgreSQL gave up on 503 QUERY_TIMEOUT, on a connection it keeps', async () => {
    const job = await app.submit({ type: 'noop', payload: {}, delay_ms: 3_600_000 });
    const holder = new pg.Client({ connectionString: app.config.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [job.id]);
      const cancel = await app.patch(`/jobs/${job.id}/cancel`);
      expect({ status: cancel.status, code: cancel.body.code, retryAfter: cancel.headers['retry-after'] }).toEqual({ status: 503, code: 'QUERY_TIMEOUT', retryAfter: '5' });
      expect(cancel.body.message).toMatch(/^PostgreSQL gave up a statement of this request/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await app.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
  });
});
