import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import pg from 'pg';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

let limited: TestApp;
let bounded: TestApp;
let boundedSpace: TestSpace;

beforeAll(async () => {
  boundedSpace = await createTestSpace('floods_bounded');
  [limited, bounded] = await Promise.all([
    createTestSpace('floods_limited').then((space) =>
      startTestApp(space, { API_KEYS: 'a:key-a-0123456789:operate,b:key-b-0123456789:operate', RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' }),
    ),
    startTestApp(boundedSpace, { MAX_SUBMITS_IN_FLIGHT: '2', REQUEST_TIMEOUT_MS: '500', RATE_LIMIT_MAX: '0' }),
  ]);
});

afterAll(async () => {
  await Promise.all([limited?.close(), bounded?.close()]);
});

describe('the rate limit', () => {
  it('answers 429 with Retry-After past RATE_LIMIT_MAX requests of one key, and counts each key apart', async () => {
    const a = { 'x-api-key': 'key-a-0123456789' };
    for (let i = 0; i < 5; i++) expect((await limited.get('/jobs', a)).status).toBe(200);
    const over = await limited.get('/jobs', a);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', code: 'RATE_LIMITED' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.body.retry_after_seconds).toBe(Number(over.headers['retry-after']));
    expect((await limited.get('/jobs', { 'x-api-key': 'key-b-0123456789' })).status).toBe(200);
  });

  it('limits requests without a valid key by address, and never /health or /metrics', async () => {
    for (let i = 0; i < 5; i++) expect((await limited.get('/jobs', { 'x-api-key': `wrong-${i}` })).status).toBe(401);
    expect((await limited.get('/jobs', { 'x-api-key': 'wrong-again' })).status).toBe(429);
    // Routes outside Nest's controllers (the dashboard and GET /, which redirects to it) answer the same 429.
    for (const path of ['/', '/ui/', '/ui/jobs/x']) {
      const over = await limited.get(path);
      expect({ path, status: over.status, code: over.body.code }).toEqual({ path, status: 429, code: 'RATE_LIMITED' });
    }
    for (let i = 0; i < 10; i++) expect((await limited.get('/health')).status).toBe(200);
    for (const path of ['/metrics', '/metrics/', '/health/live/', '/metrics?x=1']) expect({ path, status: (await limited.get(path)).status }).toEqual({ path, status: 200 });
  });
});

describe('submissions in flight', () => {
  it('answers 503 with Retry-After at once past MAX_SUBMITS_IN_FLIGHT while PostgreSQL is slow, and recovers', async () => {
    const locker = new pg.Client({ connectionString: boundedSpace.databaseUrl });
    await locker.connect();
    try {
      // Inserts into jobs wait for this lock: two batch submits stay in flight.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE jobs IN SHARE MODE');
      const first = bounded.post('/jobs/batch', { jobs: [{ type: 'noop' }] });
      const second = bounded.post('/jobs/batch', { jobs: [{ type: 'noop' }] });
      await expectEventually(async () => {
        const { rows } = await locker.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        // Both submits wait on the lock; a statement of the engine's own (a sweep's) may wait there too.
        expect(rows[0].n).toBeGreaterThanOrEqual(2);
      });
      const refused = await bounded.post('/jobs', { type: 'noop' });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', code: 'OVERLOADED' });
      expect(refused.headers['retry-after']).toBe('1');
      expect((await bounded.get('/jobs')).status).toBe(200); // reads are not bounded
      await locker.query('COMMIT');
      expect((await first).status).toBe(201);
      expect((await second).status).toBe(201);
    } finally {
      await locker.end();
    }
    expect((await bounded.post('/jobs', { type: 'noop' })).status).toBe(201);
  });
});

/** Writes `text` on a raw connection and resolves with everything the server sends until it closes. */
function rawExchange(baseUrl: string, text: string, timeoutMs = 15_000): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got: ${received}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (received += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => undefined);
  });
}

describe('request timeouts', () => {
  it('answers 408 when a body is shorter than its content-length, writing nothing', async () => {
    const countJobs = async () => (await bounded.get('/jobs?limit=200')).body.items.length as number;
    const before = await countJobs();
    const answer = await rawExchange(
      bounded.baseUrl,
      'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":"noop"',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({
      statusCode: 408,
      error: 'Request Timeout',
      code: 'REQUEST_TIMEOUT',
      message: 'the request did not arrive whole within 500 ms (REQUEST_TIMEOUT_MS)',
    });
    expect(await countJobs()).toBe(before);
  });

  it('answers 408 to headers that never end', async () => {
    const answer = await rawExchange(bounded.baseUrl, 'GET /jobs HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });
});

describe('requests Node would answer by itself', () => {
  const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

  it('answers an Expect it cannot meet with 417 in the error shape', async () => {
    const answer = await rawExchange(bounded.baseUrl, 'GET /jobs HTTP/1.1\r\nHost: x\r\nExpect: junk\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 417 Expectation Failed\r\n/);
    expect(bodyOf(answer)).toMatchObject({ statusCode: 417, code: 'BAD_HTTP_REQUEST' });
  });

  it('answers a HEAD with headers only, whatever it refuses: a body would be read as the next response', async () => {
    for (const [request, status] of [
      ['HEAD /jobs HTTP/1.1\r\nHost: x\r\nExpect: junk\r\n\r\n', 417],
      [`HEAD /jobs?${'q'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ] as const) {
      const answer = await rawExchange(bounded.baseUrl, request);
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).toMatch(/\r\nContent-Length: [1-9][0-9]*\r\n/);
      expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe('');
    }
  });

  it('answers an HTTP/1.1 request without Host with 400 in the error shape', async () => {
    const answer = await rawExchange(bounded.baseUrl, 'GET /jobs HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(bodyOf(answer)).toMatchObject({ statusCode: 400, code: 'BAD_HTTP_REQUEST', message: 'an HTTP/1.1 request needs a Host header' });
  });

  it('answers a path it serves, asked with a method it does not take there, with 405 and Allow; an unknown path stays 404', async () => {
    const id = '0190f000-0000-7000-8000-000000000000';
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/jobs', 'GET, HEAD, POST'],
      ['PUT', `/jobs/${id}`, 'DELETE, GET, HEAD'],
      ['GET', `/jobs/${id}/cancel`, 'PATCH'],
      ['POST', '/health/', 'GET, HEAD'],
      ['PATCH', '/schedules', 'GET, HEAD, POST'],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await fetch(`${bounded.baseUrl}${path}`, { method });
      const body = (await answer.json()) as Record<string, unknown>;
      expect({ method, path, status: answer.status, allow: answer.headers.get('allow'), code: body.code, allowed: body.allowed_methods }).toEqual({
        method, path, status: 405, allow, code: 'METHOD_NOT_ALLOWED', allowed: allow.split(', '),
      });
    }
    for (const [method, path] of [['GET', '/nothing'], ['DELETE', '/jobs/a/b/c'], ['POST', '/docs/x']]) {
      const answer = await fetch(`${bounded.baseUrl}${path}`, { method });
      expect({ path, status: answer.status, code: ((await answer.json()) as { code: string }).code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
    }
  });

  it('answers CONNECT with 405 instead of closing the connection', async () => {
    const answer = await rawExchange(bounded.baseUrl, 'CONNECT example.com:80 HTTP/1.1\r\nHost: example.com\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(bodyOf(answer)).toMatchObject({ statusCode: 405, code: 'METHOD_NOT_ALLOWED' });
  });

  it('serves a request offering h2c (curl --http2) as HTTP/1.1, where it was dropped after a second', async () => {
    const answer = await rawExchange(
      bounded.baseUrl,
      'GET /jobs?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(bodyOf(answer)).toHaveProperty('items');
  });

  it('answers a WebSocket upgrade outside Socket.IO with 404 naming where the live updates are', async () => {
    const answer = await rawExchange(
      bounded.baseUrl,
      'GET /jobs HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(bodyOf(answer).message).toContain('/jobs/stream');
  });
});
