import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { startApiProcess, startWorkerProcess, stopAllProcesses, type ApiProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, type TestSpace } from '../support/test-app.js';

interface Update {
  type: string;
  event: string;
  job_id: string;
  data: Record<string, any>;
}

let space: TestSpace;
let api: ApiProcess;
let second: ApiProcess;
const sockets: Socket[] = [];

beforeAll(async () => {
  space = await createTestSpace('live');
  const fast = { HEARTBEAT_INTERVAL_MS: '300' };
  [api, second] = await Promise.all([startApiProcess(space, fast), startApiProcess(space, fast)]);
  await startWorkerProcess(space, { ...fast, MAX_CONCURRENT_JOBS: '20', MAX_CPU_UNITS: '20' });
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await stopAllProcesses();
});

/** A connected client that records every job_update it gets. */
async function client(
  target: ApiProcess,
  options: { query?: Record<string, string>; auth?: Record<string, string>; transports?: string[] } = {},
) {
  const socket = io(`${target.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false, ...options });
  sockets.push(socket);
  const updates: Update[] = [];
  socket.on('job_update', (u: Update) => updates.push(u));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, updates, of: (jobId: string) => updates.filter((u) => u.job_id === jobId) };
}

const eventsOf = (updates: Update[]) => updates.map((u) => u.event);

describe('job_update events', () => {
  it('arrive in order for a whole life with a retry, in the DESIGN §7 shape', async () => {
    const c = await client(api);
    const job = await api.submit({ type: 'noop', payload: { fail_attempts: 1 }, retry_config: { initial_delay_ms: 100 } });
    await expectEventually(() => expect(eventsOf(c.of(job.id))).toContain('job_completed'), { timeoutMs: 15_000 });
    const updates = c.of(job.id);
    expect(eventsOf(updates)).toEqual([
      'job_created',
      'job_started',
      'job_failed',
      'job_retry_scheduled',
      'job_ready',
      'job_started',
      'job_completed',
    ]);
    expect(updates.map((u) => u.data.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(updates[0]).toEqual({
      type: 'job_update',
      event: 'job_created',
      job_id: job.id,
      data: expect.objectContaining({ job_id: job.id, type: 'noop', priority: 'normal', status: 'ready', attempt: 0, timestamp: expect.any(String) }),
    });
    expect(updates[2].data).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'HANDLER_ERROR' } });
    expect(updates[3].data).toMatchObject({ status: 'pending', next_run_at: expect.any(String) });
    expect(updates[6].data).toMatchObject({ status: 'completed', attempt: 2, result: { ok: true } });
  });

  it('end with job_cancelled when a running job is cancelled', async () => {
    const c = await client(api);
    const job = await api.submit({ type: 'noop', payload: { duration_ms: 60_000 } });
    await expectEventually(() => expect(eventsOf(c.of(job.id))).toContain('job_started'));
    expect((await api.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
    await expectEventually(() => expect(eventsOf(c.of(job.id))).toEqual(['job_created', 'job_started', 'job_cancelled']));
    expect(c.of(job.id)[2].data).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED_BY_USER' } });
  });

  it('arrive whole and in order in bursts, over websocket and over polling upgraded to websocket', async () => {
    // The gateway writes each flush of frames to a websocket in one system call (websocket-flushes.ts).
    const direct = await client(api);
    const upgraded = await client(api, { transports: ['polling', 'websocket'] });
    await expectEventually(() => expect(upgraded.socket.io.engine.transport.name).toBe('websocket'));
    const response = await api.post('/jobs/batch', { jobs: Array.from({ length: 50 }, () => ({ type: 'noop' })) });
    expect(response.status).toBe(201);
    const ids = (response.body.items as Array<{ id: string }>).map((i) => i.id);
    for (const c of [direct, upgraded]) {
      await expectEventually(() => expect(ids.filter((id) => eventsOf(c.of(id)).includes('job_completed'))).toHaveLength(50), { timeoutMs: 15_000 });
      for (const id of ids) {
        expect(eventsOf(c.of(id))).toEqual(['job_created', 'job_started', 'job_completed']);
        expect(c.of(id).map((u) => u.data.sequence)).toEqual([1, 2, 3]);
      }
    }
  });

  it('reach clients of every API instance alike', async () => {
    const [a, b] = await Promise.all([client(api), client(second)]);
    const job = await second.submit({ type: 'noop' });
    await expectEventually(() => {
      expect(eventsOf(a.of(job.id))).toEqual(['job_created', 'job_started', 'job_completed']);
      expect(eventsOf(b.of(job.id))).toEqual(['job_created', 'job_started', 'job_completed']);
    });
  });
});

describe('filters', () => {
  it('narrow to a job named in the handshake', async () => {
    const other = await api.submit({ type: 'noop', payload: { duration_ms: 300 } });
    const job = await api.submit({ type: 'noop', payload: { duration_ms: 300 } });
    const c = await client(api, { query: { job_id: job.id } });
    await expectEventually(() => expect(eventsOf(c.updates)).toContain('job_completed'));
    expect(c.updates.every((u) => u.job_id === job.id)).toBe(true);
    expect(c.of(other.id)).toEqual([]);
  });

  it('narrow to a type named in the handshake', async () => {
    const c = await client(api, { query: { type: 'data_processing' } });
    const noop = await api.submit({ type: 'noop' });
    const processing = await api.submit({ type: 'data_processing', payload: { records: [{ a: 1 }], operations: [{ op: 'limit', count: 1 }] } });
    await expectEventually(async () => {
      expect(c.of(processing.id).length).toBeGreaterThanOrEqual(3);
      expect((await api.getJob(noop.id)).status).toBe('completed');
    });
    expect(c.updates.every((u) => u.data.type === 'data_processing')).toBe(true);
  });

  it('are acknowledged by subscribe and unsubscribe, adding up, and bad values get an error ack without a disconnect', async () => {
    const c = await client(api);
    const id = '01900000-0000-7000-8000-000000000001';
    expect(await c.socket.emitWithAck('subscribe', { job_id: id })).toEqual({ ok: true, subscriptions: { all: false, job_ids: [id], types: [] } });
    expect(await c.socket.emitWithAck('subscribe', { type: 'noop' })).toEqual({ ok: true, subscriptions: { all: false, job_ids: [id], types: ['noop'] } });
    expect(await c.socket.emitWithAck('subscribe', { job_id: 'nope' })).toEqual({ ok: false, error: 'job_id "nope" is not a UUID' });
    expect(await c.socket.emitWithAck('subscribe', {})).toEqual({ ok: false, error: 'name a job_id, a type or a schedule_id' });
    expect(await c.socket.emitWithAck('subscribe', { type: 'noop', status: 'failed' })).toEqual({
      ok: false, error: 'unknown key "status": a filter names job_id, type, schedule_id',
    });
    const typo = await c.socket.emitWithAck('subscribe', { type: 'send_emial' });
    expect(typo).toMatchObject({ ok: false });
    expect(typo.error).toMatch(/^unknown job type "send_emial"; the known ones: .*send_email/);
    expect(c.socket.connected).toBe(true);
    // A misspelt type in an unsubscribe is refused too: told "ok", the client would keep hearing the type it meant.
    const unsubscribeTypo = await c.socket.emitWithAck('unsubscribe', { type: 'noopp' });
    expect(unsubscribeTypo).toMatchObject({ ok: false });
    expect(unsubscribeTypo.error).toMatch(/^unknown job type "noopp"; the known ones: .*noop/);
    expect(await c.socket.emitWithAck('unsubscribe', { type: 'noop' })).toEqual({ ok: true, subscriptions: { all: false, job_ids: [id], types: [] } });
    // The last filter gone, the client hears every job again, and the acknowledgement says so.
    expect(await c.socket.emitWithAck('unsubscribe', { job_id: id })).toEqual({
      ok: true,
      subscriptions: { all: true, job_ids: [], types: [] },
      note: 'no filter left: this client now receives the updates of every job; subscribe to a job_id or a type to narrow it again',
    });
    const other = await api.submit({ type: 'data_processing', payload: { records: [{ a: 1 }], operations: [{ op: 'limit', count: 1 }] } });
    await expectEventually(() => expect(eventsOf(c.of(other.id))).toContain('job_completed'));
  });

  it('deliver only what was subscribed to', async () => {
    const c = await client(api);
    const watched = await api.submit({ type: 'noop', payload: { duration_ms: 500 } });
    await c.socket.emitWithAck('subscribe', { job_id: watched.id });
    const ignored = await api.submit({ type: 'noop' });
    await expectEventually(() => expect(eventsOf(c.of(watched.id))).toContain('job_completed'));
    await expectEventually(async () => expect((await api.getJob(ignored.id)).status).toBe('completed'));
    expect(c.of(ignored.id)).toEqual([]);
  });

  it('are answered on a budget: a flood of messages gets error acks, the connection and the service stay up', async () => {
    const c = await client(api);
    const ids = Array.from({ length: 1000 }, (_, i) => `01900000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`);
    expect((await c.socket.emitWithAck('subscribe', { job_id: ids })).subscriptions.job_ids).toHaveLength(1000);
    const acks = await Promise.all(Array.from({ length: 400 }, () => c.socket.emitWithAck('unsubscribe', { type: 'send_email' })));
    const refused = acks.filter((a) => !a.ok);
    expect(acks.filter((a) => a.ok).length).toBeGreaterThanOrEqual(200);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0].error).toMatch(/^too many messages on this connection/);
    expect((await api.get('/health')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await c.socket.emitWithAck('unsubscribe', { job_id: ids.slice(1) })).toEqual({ ok: true, subscriptions: { all: false, job_ids: [ids[0]], types: [] } });
  });

  it('answer a message the namespace does not take, when it asks for an acknowledgement', async () => {
    const c = await client(api);
    expect(await c.socket.emitWithAck('subscribe_all', {})).toEqual({ ok: false, error: 'unknown message "subscribe_all": this namespace takes subscribe, unsubscribe, replay' });
    expect((await c.socket.emitWithAck('subscribe', { type: 'noop' })).ok).toBe(true);
  });

  it('refuse a bad handshake filter with a connect_error', async () => {
    const socket = io(`${api.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false, query: { job_id: 'nope' } });
    sockets.push(socket);
    const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
    expect(error.message).toBe('bad filter in the handshake query: job_id "nope" is not a UUID');
  });
});

describe('replay', () => {
  it('returns exactly the events missed while disconnected', async () => {
    const first = await client(api);
    const job = await api.submit({ type: 'noop', payload: { duration_ms: 800 } });
    await expectEventually(() => expect(eventsOf(first.of(job.id))).toContain('job_started'));
    const seen = first.of(job.id).map((u) => u.data.sequence);
    first.socket.close();
    await expectEventually(async () => expect((await api.getJob(job.id)).status).toBe('completed'));

    const again = await client(api);
    const lastSeen = Math.max(...seen);
    const answer = await again.socket.emitWithAck('replay', { job_id: job.id, after_sequence: lastSeen });
    expect(answer.ok).toBe(true);
    expect(answer.events.map((e: Update) => e.event)).toEqual(['job_completed']);
    expect(answer.events[0]).toMatchObject({ type: 'job_update', job_id: job.id, data: { sequence: lastSeen + 1, status: 'completed' } });
    const all = await again.socket.emitWithAck('replay', { job_id: job.id, after_sequence: 0 });
    expect(all.events.map((e: Update) => e.data.sequence)).toEqual([1, 2, 3]);
  });

  it('pages a history longer than one answer: more is true until the last page', async () => {
    const job = await api.submit({ type: 'noop' });
    await expectEventually(async () => expect((await api.getJob(job.id)).status).toBe('completed'));
    const db = new pg.Client({ connectionString: space.databaseUrl });
    await db.connect();
    try {
      // 10,010 progress events after the job's own three (a long history: progress, or many retries).
      await db.query(
        `INSERT INTO job_logs (job_id, level, message, attempt, event, sequence, data)
         SELECT $1::uuid, 'info', 'progress', 1, 'job_progress', 3 + n, jsonb_build_object('job_id', $1::text, 'sequence', 3 + n) FROM generate_series(1, 10010) AS n`,
        [job.id],
      );
    } finally {
      await db.end();
    }
    const c = await client(api);
    const first = await c.socket.emitWithAck('replay', { job_id: job.id, after_sequence: 0 });
    expect({ count: first.events.length, more: first.more, last: first.events.at(-1).data.sequence }).toEqual({ count: 10_000, more: true, last: 10_000 });
    const rest = await c.socket.emitWithAck('replay', { job_id: job.id, after_sequence: 10_000 });
    expect({ count: rest.events.length, more: rest.more }).toEqual({ count: 13, more: undefined });
  });

  it('answers bad requests with an error ack', async () => {
    const c = await client(api);
    expect(await c.socket.emitWithAck('replay', { job_id: 'x', after_sequence: 0 })).toEqual({ ok: false, error: 'job_id "x" is not a UUID' });
    for (const after_sequence of [-1, 1.5, '1', null, 2 ** 31, 2 ** 53, 1e300]) {
      expect(await c.socket.emitWithAck('replay', { job_id: '01900000-0000-7000-8000-000000000001', after_sequence })).toEqual({
        ok: false,
        error: 'after_sequence must be an integer from 0 to 2147483647',
      });
    }
    for (const body of [{}, { type: 'noop' }, { job_id: ['01900000-0000-7000-8000-000000000001'] }]) {
      expect(await c.socket.emitWithAck('replay', body)).toEqual({ ok: false, error: 'replay needs job_id: the id (a UUID) of one job' });
    }
    expect(await c.socket.emitWithAck('replay', { job_id: '01900000-0000-7000-8000-000000000001', after: 5 })).toEqual({
      ok: false,
      error: 'unknown key "after": replay takes job_id and after_sequence',
    });
    expect(await c.socket.emitWithAck('replay', { job_id: '01900000-0000-7000-8000-000000000001' })).toEqual({
      ok: false,
      error: 'job 01900000-0000-7000-8000-000000000001 not found',
    });
  });
});

describe('API keys', () => {
  let secured: ApiProcess;

  beforeAll(async () => {
    secured = await startApiProcess(space, { API_KEYS: 'sekret' });
  });

  it('refuses a handshake without a token, with a clear message', async () => {
    const socket = io(`${secured.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
    expect(error.message).toBe('missing API key: connect with auth: {token: "<key>"}');
  });

  it('refuses a wrong token and accepts the right one', async () => {
    const wrong = io(`${secured.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false, auth: { token: 'nope' } });
    sockets.push(wrong);
    expect((await new Promise<Error>((resolve) => wrong.once('connect_error', resolve))).message).toBe('invalid API key');
    const c = await client(secured, { auth: { token: 'sekret' } });
    expect(c.socket.connected).toBe(true);
  });
});
