import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectEventually, createTestSpace, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';
import pg from 'pg';
import { lookup } from 'node:dns/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { readBody } from '../../src/executor/handlers/fetch-body.js';
import { classifyAddress } from '../../src/executor/handlers/fetch-policy.js';
import { request } from 'undici';
import { runToCompletion, startHttpPeer, USERS, waitForJob, type HttpPeer } from '../support/handler-peers.js';

const ONCE = { max_attempts: 1 };

let peer: HttpPeer;
let app: TestApp; // DATA_FETCH_ALLOW_PRIVATE=true: the peer is on 127.0.0.1
let strict: TestApp; // the default: private addresses refused
let fetchSpace: TestSpace;

beforeAll(async () => {
  peer = await startHttpPeer();
  [app, strict] = await Promise.all([
    createTestSpace('fetch').then((space) => ((fetchSpace = space), startTestApp(space, { DATA_FETCH_ALLOW_PRIVATE: 'true' }))),
    createTestSpace('fetch_strict').then((space) => startTestApp(space)),
  ]);
});

afterAll(async () => {
  await Promise.all([app?.close(), strict?.close()]);
  await peer?.close();
});

const fetchJob = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'data_fetch', payload, ...extra });

describe('data_fetch', () => {
  it('parses a JSON body into the result', async () => {
    const job = await runToCompletion(app, fetchJob({ url: `${peer.url}/users` }));
    expect(job.result).toMatchObject({ url: `${peer.url}/users`, status: 200, content_type: 'application/json', encoding: 'json', redirects: [], body: USERS });
    expect(job.result.bytes).toBe(Buffer.byteLength(JSON.stringify(USERS)));
    const logs = await app.get(`/jobs/${job.id}/logs`);
    expect(logs.body.items.map((l: any) => l.message)).toContainEqual(expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/users answered 200, \d+ bytes of application\/json/));
  });

  it('keeps other content as text', async () => {
    const job = await runToCompletion(app, fetchJob({ url: `${peer.url}/text` }));
    expect(job.result).toMatchObject({ encoding: 'text', body: 'hello from the peer' });
  });

  it('sends a JSON body with the method and headers given, and the job id as Idempotency-Key', async () => {
    const job = await runToCompletion(app, fetchJob({ url: `${peer.url}/echo`, method: 'POST', headers: { 'x-trace': 'abc' }, body: { hello: 'world' } }));
    expect(peer.lastEcho).toMatchObject({
      method: 'POST',
      body: '{"hello":"world"}',
      headers: { 'x-trace': 'abc', 'content-type': 'application/json', 'idempotency-key': job.id },
    });
  });

  it('keeps an Idempotency-Key the payload sets (any letter case)', async () => {
    await runToCompletion(app, fetchJob({ url: `${peer.url}/echo`, headers: { 'IDEMPOTENCY-KEY': 'order-42' } }));
    expect(peer.lastEcho?.headers['idempotency-key']).toBe('order-42');
  });

  it('follows redirects, each hop checked, and lists them', async () => {
    const job = await runToCompletion(app, fetchJob({ url: `${peer.url}/redirect/3` }));
    expect(job.result.body).toEqual({ redirected: true });
    expect(job.result.redirects).toEqual([`${peer.url}/redirect/2`, `${peer.url}/redirect/1`, `${peer.url}/redirect/0`]);
    expect(job.result.url).toBe(`${peer.url}/redirect/0`);
  });

  it('fails past max_redirects', async () => {
    const job = await app.submit(fetchJob({ url: `${peer.url}/redirect/4`, max_redirects: 2 }, { retry_config: ONCE }));
    const done = await waitForJob(app, job.id);
    expect(done.status).toBe('failed');
    expect(done.error.message).toMatch(/more than max_redirects \(2\) redirects/);
  });

  it('fails the attempt on a non-2xx answer, so it is retried', async () => {
    const job = await app.submit(fetchJob({ url: `${peer.url}/status/404` }, { retry_config: { max_attempts: 2, initial_delay_ms: 0 } }));
    const done = await waitForJob(app, job.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'HANDLER_ERROR', cause_code: 'HTTP_404' } });
    expect(done.error.message).toMatch(/answered 404: \{"status":404\}/);
  });

  it('succeeds on the retry after a flaky server fails twice', async () => {
    const job = await runToCompletion(app, fetchJob({ url: `${peer.url}/flaky/k1?fails=2` }, { retry_config: { max_attempts: 3, initial_delay_ms: 50 } }));
    expect(job.attempts).toBe(3);
    expect(job.result.body).toEqual([{ attempt: 3 }]);
    expect(peer.hits.get('/flaky/k1')).toBe(3);
  });

  it('gives up on a slow server after timeout_ms and closes the connection', async () => {
    const job = await app.submit(fetchJob({ url: `${peer.url}/slow?ms=10000`, timeout_ms: 300 }, { retry_config: ONCE }));
    const done = await waitForJob(app, job.id);
    expect(done).toMatchObject({ status: 'failed', error: { cause_code: 'FETCH_TIMEOUT' } });
    expect(done.error.message).toMatch(/no complete response from http:\/\/127\.0\.0\.1:\d+\/slow\?… within timeout_ms \(300 ms\)/);
    await expectEventually(() => expect(peer.aborted).toContain('/slow'));
  });

  it('aborts the request when the job is cancelled', async () => {
    const before = peer.aborted.length;
    const job = await app.submit(fetchJob({ url: `${peer.url}/slow?ms=30000` }));
    await waitForJob(app, job.id, ['running']);
    await expectEventually(() => expect(peer.hits.get('/slow')).toBeGreaterThan(0));
    expect((await app.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
    await expectEventually(() => expect(peer.aborted.length).toBe(before + 1));
  });

  it("aborts the request within a heartbeat when the cancel's event never reached the worker", async () => {
    const before = peer.aborted.length;
    const job = await app.submit(fetchJob({ url: `${peer.url}/slow?ms=30000` }));
    await waitForJob(app, job.id, ['running']);
    await expectEventually(() => expect(peer.hits.get('/slow')).toBeGreaterThan(0));
    // Cancelled in the database only: no job_cancelled event is published (as when Redis was down).
    const db = new pg.Client({ connectionString: fetchSpace.databaseUrl });
    await db.connect();
    try {
      await db.query(`UPDATE jobs SET status = 'cancelled', completed_at = now() WHERE id = $1 AND status = 'running'`, [job.id]);
    } finally {
      await db.end();
    }
    await expectEventually(() => expect(peer.aborted.length).toBe(before + 1), { timeoutMs: 6000 });
  });

  it.each([
    ['/huge', /exceeds max_bytes \(100000\); download stopped/],
    ['/huge-declared', /the response is 5242880 bytes, more than max_bytes \(100000\)/],
  ])('stops %s past max_bytes', async (path, message) => {
    const job = await app.submit(fetchJob({ url: `${peer.url}${path}`, max_bytes: 100_000 }, { retry_config: ONCE }));
    const done = await waitForJob(app, job.id);
    expect(done.status).toBe('failed');
    expect(done.error.message).toMatch(message);
    await expectEventually(() => expect(peer.aborted).toContain(path));
  });

  it('reads a large body whose server closes the connection right after it (HTTP/1.0)', async () => {
    const { url, close } = await startClosingServer(900_000);
    try {
      const jobs = await Promise.all([1, 2, 3].map(() => app.submit(fetchJob({ url }, { retry_config: ONCE }))));
      for (const job of jobs) {
        const done = await waitForJob(app, job.id);
        expect(done).toMatchObject({ status: 'completed', result: { status: 200, bytes: 900_000, encoding: 'text' } });
        expect(done.result.body).toHaveLength(900_000);
      }
    } finally {
      await close();
    }
  });

  it.each([
    ['a redirect without Location', 'HTTP/1.1 302 Found\r\nconnection: close\r\n', /no Location header/],
    ['a redirect to another scheme', 'HTTP/1.1 302 Found\r\nlocation: ftp://example.com/\r\nconnection: close\r\n', /ftp/],
    ['an HTTP/1.0 redirect without Location', 'HTTP/1.0 302 Found\r\n', /no Location header/],
  ])('fails the attempt on %s, closes its connection and reads none of its 2 MiB body', async (_, head, message) => {
    // The body was left unread: undici buffered it to its high-water mark and paused its parser, and the
    // server's close then ended the process (an assertion in undici); a larger one held the socket for good.
    const closed: Promise<void>[] = [];
    const server = createServer((socket) => {
      closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write(`${head}\r\n`);
        socket.end(Buffer.alloc(2 * 1024 * 1024, 0x78));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/moved`;
      const job = await app.submit(fetchJob({ url }, { retry_config: ONCE }));
      const done = await waitForJob(app, job.id);
      expect(done.status).toBe('failed');
      expect(done.error.message).toMatch(message);
      expect(closed.length).toBeGreaterThanOrEqual(1);
      await Promise.all(closed);
      expect((await app.get('/health/live')).status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps timeout_ms while connecting: a TLS handshake that never answers fails at timeout_ms', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket.on('error', () => undefined))); // accepts, says nothing
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const job = await app.submit(fetchJob({ url, timeout_ms: 500 }, { retry_config: ONCE }));
      const done = await waitForJob(app, job.id);
      expect(done).toMatchObject({ status: 'failed', error: { cause_code: 'FETCH_TIMEOUT' } });
      // undici's own connect timeout is 10 s.
      expect(Date.parse(done.completed_at) - Date.parse(done.started_at)).toBeLessThan(5000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.each([
    ['a binary body over 1 MiB once in base64', 'RESULT_TOO_LARGE', 'application/octet-stream', Buffer.alloc(900_000, 0x01)],
    ['a JSON body with a NUL character, which PostgreSQL refuses', 'RESULT_NOT_STORABLE', 'application/json', Buffer.from('{"a":"x\\u0000y"}')],
  ])('fails a result it cannot store at once, not retried: %s', async (_, code, contentType, body) => {
    const { url, close } = await startClosingServer(0, contentType, body);
    try {
      const job = await app.submit(fetchJob({ url }, { retry_config: { max_attempts: 3, initial_delay_ms: 10 } }));
      const done = await waitForJob(app, job.id);
      expect(done).toMatchObject({ status: 'failed', attempts: 1, error: { code, retryable: false } });
    } finally {
      await close();
    }
  });

  it.each([
    [1001, 1000],
    [50_000, 40_000],
  ])('refuses a declared length of %i bytes over max_bytes %i, the body destroyed with the process unharmed', async (size, maxBytes) => {
    // The body was destroyed with no listener for the error that destroying an unfinished body emits:
    // "Unhandled 'error' event" ended the process.
    const { url, close } = await startClosingServer(size);
    try {
      for (let i = 0; i < 3; i++) {
        const job = await app.submit(fetchJob({ url, max_bytes: maxBytes }, { retry_config: ONCE }));
        const done = await waitForJob(app, job.id);
        expect(done.status).toBe('failed');
        expect(done.error.message).toMatch(new RegExp(`the response is ${size} bytes, more than max_bytes \\(${maxBytes}\\)`));
      }
      await new Promise((resolve) => setTimeout(resolve, 200)); // a late 'error' event comes within a turn or two
      expect((await app.get('/health/live')).status).toBe(200);
    } finally {
      await close();
    }
  });

  describe('with DATA_FETCH_ALLOW_PRIVATE=false (the default)', () => {
    it.each([
      ['a loopback IP literal', 'http://127.0.0.1:9/users', /refused 127\.0\.0\.1: loopback addresses are not allowed/],
      ['localhost', 'http://localhost:9/', /refused localhost: loopback names are not allowed/],
      ['a name under localhost', 'http://api.localhost./', /refused api\.localhost: loopback names/],
      ['a decimal IPv4 literal', 'http://2130706433/', /refused 127\.0\.0\.1: loopback/],
      ['a hex IPv4 literal', 'http://0x7f000001/', /refused 127\.0\.0\.1: loopback/],
      ['a dotted hex IPv4 literal', 'http://0x7f.0x0.0x0.0x1/', /refused 127\.0\.0\.1: loopback/],
      ['an octal IPv4 literal', 'http://0177.0.0.1/', /refused 127\.0\.0\.1: loopback/],
      ['a short IPv4 literal', 'http://127.1/', /refused 127\.0\.0\.1: loopback/],
      ['the unspecified address', 'http://0.0.0.0:9/', /refused 0\.0\.0\.0: unspecified/],
      ['a private address', 'http://10.0.0.1/', /refused 10\.0\.0\.1: private/],
      ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data', /refused 169\.254\.169\.254: linkLocal/],
      ['the IPv6 loopback', 'http://[::1]:9/', /refused ::1: loopback/],
      ['an IPv4-mapped IPv6 literal of a private address', 'http://[::ffff:10.0.0.1]:9/', /refused ::ffff:a00:1: private/],
      ['an IPv4-mapped IPv6 literal of loopback', 'http://[::ffff:7f00:1]/', /refused ::ffff:7f00:1: loopback/],
      ['a unique-local IPv6 literal', 'http://[fd00::1]/', /refused fd00::1: uniqueLocal/],
    ])('refuses %s at submit with 400 ADDRESS_NOT_ALLOWED, writing nothing', async (_label, url, message) => {
      const response = await strict.post('/jobs', fetchJob({ url }));
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
      expect(response.body.details).toContainEqual({ field: 'payload.url', message: expect.stringMatching(message) });
      expect([response.body.message].flat().join('\n')).toMatch(/DATA_FETCH_ALLOW_PRIVATE=true/);
      expect((await strict.get('/jobs')).body.items).toEqual([]);
    });

    it('refuses at submit a URL the run could not parse (an IPv6 zone id), instead of failing every attempt', async () => {
      const response = await strict.post('/jobs', fetchJob({ url: 'http://[fe80::1%25eth0]/' }));
      expect(response.status).toBe(400);
      expect(response.body.details).toContainEqual({ field: 'payload.url', message: expect.stringMatching(/can be parsed/) });
    });

    it('refuses at run time, after resolving it, a name whose address is not public, and does not retry', async () => {
      // This machine's own name resolves to a loopback or private address (checked here first).
      const name = hostname();
      const { address } = await lookup(name);
      expect(classifyAddress(address).isPublic).toBe(false);
      const hitsBefore = peer.hits.get('/users') ?? 0;
      const url = `http://${name}:${new URL(peer.url).port}/users`;
      const job = await strict.submit(fetchJob({ url }, { retry_config: { max_attempts: 3, initial_delay_ms: 100 } }));
      const done = await waitForJob(strict, job.id);
      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(1);
      expect(done.error.retryable).toBe(false);
      expect(done.error.message).toMatch(new RegExp(`refused ${name.replace(/[.]/g, '\\.')} \\(resolves to `));
      expect(done.error.message).toMatch(/DATA_FETCH_ALLOW_PRIVATE=true/);
      expect(peer.hits.get('/users') ?? 0).toBe(hitsBefore);
    });
  });
});

/** A server that sends its whole HTTP/1.0 answer (`size` bytes of `a`, or `body`) and the connection's end at once. */
async function startClosingServer(size: number, contentType = 'text/plain', body = Buffer.alloc(size, 0x61)): Promise<{ url: string; close: () => Promise<unknown> }> {
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.write(`HTTP/1.0 200 OK\r\ncontent-type: ${contentType}\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.end(body);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/big`, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('reading a body (readBody)', () => {
  // The whole answer and the FIN arrive at once, and each progress report takes a turn of the event loop
  // (a database write): a read that waited for its reports fell behind, undici's parser paused, and the
  // socket's end failed an assertion in undici outside any promise, which ended the process.
  it('reads to the end, progress reported in order, when the server closes at once behind the body', async () => {
    const { url, close } = await startClosingServer(900_000);
    try {
      for (let i = 0; i < 5; i++) {
        const response = await request(url); // undici's own high-water mark: the read alone must keep up
        const reported: number[] = [];
        const progress = async (percent: number) => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          reported.push(percent);
        };
        const bytes = await readBody(response.body, 1_000_000, { declared: 900_000, progress });
        expect(bytes.length).toBe(900_000);
        expect(reported).toEqual([...reported].sort((a, b) => a - b));
        expect(reported.at(-1)).toBe(100);
      }
    } finally {
      await close();
    }
  });

  it('stops past the limit, or keeps the first bytes when asked to truncate', async () => {
    const { url, close } = await startClosingServer(900_000);
    try {
      await expect(readBody((await request(url)).body, 100_000, {})).rejects.toThrow(/exceeds max_bytes \(100000\)/);
      const kept = await readBody((await request(url)).body, 300, { truncate: true });
      expect(kept.toString()).toBe('a'.repeat(300));
    } finally {
      await close();
    }
  });
});
