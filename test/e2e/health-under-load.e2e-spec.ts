import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestSpace, expectEventually, startTestApp, type JsonResponse, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * The health probes get through a saturated API: every pooled PostgreSQL connection held by submits
 * waiting on a lock, the submissions bound full, the address's rate limit spent. They answer from the
 * background probe's state, which its own connections keep current meanwhile. What is asserted is
 * that they answer, and what; how fast is measured by `node bench/run.js door`, not asserted here.
 */

let space: TestSpace;
let app: TestApp;

beforeAll(async () => {
  space = await createTestSpace('health_load');
  app = await startTestApp(space, {
    ROLE: 'api',
    DB_POOL_SIZE: '2',
    MAX_SUBMITS_IN_FLIGHT: '2',
    RATE_LIMIT_MAX: '4',
    RATE_LIMIT_WINDOW_MS: '600000',
    DB_CONNECT_TIMEOUT_MS: '60000',
  });
});

afterAll(async () => {
  await app?.close();
});

function expectHealthy(response: JsonResponse): void {
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  // The security headers and the request id, as on every answer.
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['content-security-policy']).toContain("script-src 'self'");
  expect(response.headers['x-request-id']).toEqual(expect.any(String));
}

describe('GET /health while the API is saturated', () => {
  it('answers from the probe\'s state while every pooled connection is held, submits are bounded and the rate limit is spent', async () => {
    const locker = new pg.Client({ connectionString: space.databaseUrl });
    await locker.connect();
    let held: Array<Promise<JsonResponse>> = [];
    try {
      // Inserts into jobs wait for this lock, each holding one of the pool's two connections.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE jobs IN SHARE MODE');
      held = [app.post('/jobs', { type: 'noop' }), app.post('/jobs', { type: 'noop' })];
      await expectEventually(async () => {
        const { rows } = await locker.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        expect(rows[0].n).toBe(2);
      });
      // The submissions bound is full; then the address's 4 requests are spent (by requests that need no connection).
      expect((await app.post('/jobs', { type: 'noop' })).body).toMatchObject({ statusCode: 503, code: 'OVERLOADED' });
      expect((await app.get('/jobs/not-an-id')).status).toBe(400);
      expect((await app.get('/jobs/not-an-id')).status).toBe(400);
      expect((await app.get('/jobs/not-an-id')).body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });

      const first = await app.get('/health');
      expectHealthy(first);
      expect(first.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } }, error: {} });
      // The probe keeps checking on connections of its own: a pool held by others does not starve it.
      const checkedAt = first.body.details.database.checked_at as string;
      await expectEventually(async () => {
        const later = await app.get('/health');
        expectHealthy(later);
        expect(later.body.details.database).toMatchObject({ status: 'up', latency_ms: expect.any(Number) });
        expect(later.body.details.database.checked_at).not.toBe(checkedAt);
      });
      const ready = await app.get('/health/ready');
      expectHealthy(ready);
      expect(ready.body).toMatchObject({ status: 'ok', error: {} });
      const live = await app.get('/health/live');
      expectHealthy(live);
      expect(live.body).toEqual({ status: 'ok' });
      expect((await app.get('/health/')).status).toBe(200);
      // Only the health probes: the rest of the API is still limited.
      expect((await app.get('/jobs')).status).toBe(429);
    } finally {
      await locker.query('COMMIT').catch(() => undefined);
      await locker.end();
    }
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([201, 201]);
  });

  it('leaves HEAD and other methods to the routes', async () => {
    const head = await app.request('HEAD', '/health/live');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const post = await app.request('POST', '/health', {});
    expect(post.status).toBe(405);
    expect(post.body).toMatchObject({ statusCode: 405, code: 'METHOD_NOT_ALLOWED', allowed_methods: ['GET', 'HEAD'] });
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});
