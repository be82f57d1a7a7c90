import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestSpace, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * CONNECTION_TIMEOUT_MS closes idle connections; a request the service is still carrying out sends
 * nothing until its answer, and keeps its connection until then. Here the timeout is 1 s and a submit
 * waits 2.5 s on a table lock.
 */
let app: TestApp;
let space: TestSpace;

beforeAll(async () => {
  space = await createTestSpace('long_requests');
  app = await startTestApp(space, { CONNECTION_TIMEOUT_MS: '1000' });
});

afterAll(async () => {
  await app?.close();
});

describe('a request carried out for longer than CONNECTION_TIMEOUT_MS', () => {
  it('gets its answer: the connection is not closed as idle while the service works on it', async () => {
    const locker = new pg.Client({ connectionString: space.databaseUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
      const sent = Date.now();
      const answer = fetch(`${app.baseUrl}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"noop"}' });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await locker.query('COMMIT');
      const response = await answer;
      expect(response.status).toBe(201);
      expect(((await response.json()) as { type: string }).type).toBe('noop');
      expect(Date.now() - sent).toBeGreaterThanOrEqual(2_500);
    } finally {
      await locker.end();
    }
  });
});
