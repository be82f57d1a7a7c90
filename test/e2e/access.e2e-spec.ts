import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

const KEYS = {
  viewer: 'viewer-key-0123456789',
  ci: 'ci-key-0123456789',
  ops: 'ops-key-0123456789',
  legacy: 'legacy-key-0123456789',
};
const as = (key: string) => ({ authorization: `Bearer ${key}` });

let app: TestApp;
const sockets: Socket[] = [];

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('access'), {
    API_KEYS: `viewer:${KEYS.viewer}:read, ci:${KEYS.ci}:operate, ops:${KEYS.ops}:admin, ${KEYS.legacy}`,
  });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app?.close();
});

/** A job that waits for a long no-op, so it can still be cancelled. */
async function aWaitingJob(key: string) {
  const long = await app.post('/jobs', { type: 'noop', payload: { duration_ms: 600_000 } }, as(key));
  const job = await app.post('/jobs', { type: 'noop', depends_on: [long.body.id] }, as(key));
  expect(job.status).toBe(201);
  return job.body;
}

describe('roles', () => {
  it('lets a read key read, and answers 403 with a code when it submits or cancels', async () => {
    expect((await app.get('/jobs', as(KEYS.viewer))).status).toBe(200);
    expect((await app.get('/workers', as(KEYS.viewer))).status).toBe(200);
    const submit = await app.post('/jobs', { type: 'noop' }, as(KEYS.viewer));
    expect(submit.status).toBe(403);
    expect(submit.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      code: 'ROLE_NOT_ALLOWED',
      message: 'key "viewer" has role read; POST /jobs needs operate',
      role: 'read',
      required_role: 'operate',
    });
    expect((await app.post('/jobs/batch', { jobs: [{ type: 'noop' }] }, as(KEYS.viewer))).status).toBe(403);
    const job = await aWaitingJob(KEYS.ci);
    const cancel = await app.patch(`/jobs/${job.id}/cancel`, undefined, as(KEYS.viewer));
    expect(cancel.status).toBe(403);
    expect(cancel.body.code).toBe('ROLE_NOT_ALLOWED');
    expect((await app.get(`/jobs/${job.id}`)).status).toBe(401);
    expect((await app.get(`/jobs/${job.id}`, as(KEYS.viewer))).body.status).toBe('blocked');
  });

  it.each([
    ['an operate key', KEYS.ci],
    ['an admin key', KEYS.ops],
    ['a bare key (admin)', KEYS.legacy],
  ])('lets %s submit and cancel', async (_case, key) => {
    const job = await aWaitingJob(key);
    expect((await app.patch(`/jobs/${job.id}/cancel`, undefined, as(key))).status).toBe(200);
  });

  it('declares a role on every endpoint that changes state (x-required-role in the OpenAPI document)', async () => {
    const doc = (await app.get('/docs-json')).body;
    const undeclared: string[] = [];
    for (const [path, operations] of Object.entries<Record<string, { 'x-required-role'?: string }>>(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (method !== 'get' && !operation['x-required-role']) undeclared.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(undeclared).toEqual([]);
    expect(doc.paths['/jobs'].post['x-required-role']).toBe('operate');
    expect(doc.paths['/jobs/{id}/cancel'].patch['x-required-role']).toBe('operate');
  });

  it('lets every role read the live updates, and refuses a wrong key', async () => {
    const connect = (token: string) =>
      new Promise<string>((resolve) => {
        const socket = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false, auth: { token } });
        sockets.push(socket);
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (error) => resolve(error.message));
      });
    expect(await connect(KEYS.viewer)).toBe('connected');
    expect(await connect('not-a-key')).toBe('invalid API key');
  });
});

describe('actor: who changed a job', () => {
  it("records the submitting key's name in the job_created log row and event", async () => {
    const socket = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false, auth: { token: KEYS.viewer } });
    sockets.push(socket);
    const created: Array<{ job_id: string; data: Record<string, unknown> }> = [];
    socket.on('job_update', (u) => u.event === 'job_created' && created.push(u));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const job = (await app.post('/jobs', { type: 'noop' }, as(KEYS.ci))).body;
    const logs = await app.get(`/jobs/${job.id}/logs`, as(KEYS.viewer));
    expect(logs.body.items[0]).toMatchObject({ message: 'job submitted as ready', data: { actor: 'ci' } });
    await expectEventually(() => expect(created.find((u) => u.job_id === job.id)?.data).toMatchObject({ actor: 'ci' }));
  });

  it('records who cancelled a job in its error, its logs, and those of the jobs cancelled with it', async () => {
    const root = await aWaitingJob(KEYS.ci);
    const child = (await app.post('/jobs', { type: 'noop', depends_on: [root.id] }, as(KEYS.ci))).body;
    const cancelled = await app.patch(`/jobs/${root.id}/cancel`, undefined, as(KEYS.ops));
    expect(cancelled.body.error).toMatchObject({ code: 'CANCELLED_BY_USER', actor: 'ops' });
    const rootLogs = (await app.get(`/jobs/${root.id}/logs`, as(KEYS.viewer))).body.items;
    expect(rootLogs.at(-1)).toMatchObject({ message: 'job cancelled by ops', data: { status: 'cancelled', actor: 'ops' } });
    const childLogs = (await app.get(`/jobs/${child.id}/logs`, as(KEYS.viewer))).body.items;
    expect(childLogs.at(-1)).toMatchObject({ data: { status: 'cancelled', actor: 'ops', error: { code: 'DEPENDENCY_FAILED' } } });
  });

  it('records who triggered a schedule in its job’s job_created row', async () => {
    const schedule = await app.request('PUT', '/schedules/actor-probe', { cron: '0 0 1 1 *', job: { type: 'noop' } }, as(KEYS.ops));
    expect(schedule.status).toBeLessThan(300);
    const job = (await app.post('/schedules/actor-probe/trigger', undefined, as(KEYS.ci))).body;
    const logs = await app.get(`/jobs/${job.id}/logs`, as(KEYS.viewer));
    expect(logs.body.items[0].data).toMatchObject({ actor: 'ci' });
  });

  it('records the name of a bare key as key<position>, and of a batch on every job', async () => {
    const response = await app.post('/jobs/batch', { jobs: [{ ref: 'a', type: 'noop' }, { type: 'noop', depends_on: ['a'] }] }, as(KEYS.legacy));
    expect(response.status).toBe(201);
    for (const job of response.body.items) {
      const logs = await app.get(`/jobs/${job.id}/logs`, as(KEYS.viewer));
      expect(logs.body.items[0].data.actor).toBe('key4');
    }
  });
});

describe('the key comes before the body', () => {
  const raw = (headers: Record<string, string>, body: string) =>
    fetch(`${app.baseUrl}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  it('answers a body without a valid key with 401 whatever the body: it is not read', async () => {
    for (const body of ['{', '{"__proto__":{}}', '{"type":"noop"}']) {
      expect(await raw({}, body)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED', message: expect.stringContaining('missing API key') } });
      expect(await raw({ 'x-api-key': 'wrong' }, body)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED', message: 'invalid API key' } });
    }
    const compressed = await fetch(`${app.baseUrl}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' }, body: '{}' });
    expect(compressed.status).toBe(401);
  });

  it('answers a key whose role is too low with 403 whatever the body: it is not read', async () => {
    for (const body of ['{', '{"type":"noop","payload":{"__proto__":1}}', '{"type":"noop","bogus":1}']) {
      expect(await raw(as(KEYS.viewer), body)).toMatchObject({ status: 403, body: { code: 'ROLE_NOT_ALLOWED', role: 'read', required_role: 'operate' } });
    }
    const compressed = await fetch(`${app.baseUrl}/jobs`, { method: 'POST', headers: { ...as(KEYS.viewer), 'content-type': 'application/json', 'content-encoding': 'zstd' }, body: '{}' });
    expect(compressed.status).toBe(403);
    const bulk = await fetch(`${app.baseUrl}/jobs/bulk/cancel`, { method: 'POST', headers: { ...as(KEYS.ci), 'content-type': 'text/plain' }, body: 'x' });
    expect(bulk.status).toBe(403);
    // A key whose role suffices has its body read as usual.
    expect((await raw(as(KEYS.ci), '{')).status).toBe(400);
  });

  it('refuses two different keys in one request, and takes the same key sent twice', async () => {
    const two = await raw({ authorization: `Bearer ${KEYS.ops}`, 'x-api-key': KEYS.viewer }, '{"type":"noop"}');
    expect(two).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED', message: expect.stringContaining('two different API keys') } });
    const twoOnRead = await app.get('/jobs', { authorization: `Bearer ${KEYS.viewer}`, 'x-api-key': 'wrong' });
    expect(twoOnRead.status).toBe(401);
    const same = await raw({ authorization: `Bearer ${KEYS.ci}`, 'x-api-key': KEYS.ci }, '{"type":"noop"}');
    expect(same.status).toBe(201);
  });
});
