import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Namespace } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { JobEventBus, type JobEvent } from '../../src/events/job-event-bus.js';
import { REPLAY_IN_FLIGHT_ERROR } from '../../src/gateway/domain/replay-gate.js';
import { JobStreamGateway, MAIN_NAMESPACE_ERROR } from '../../src/gateway/job-stream.gateway.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'stream-limits-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
let app: TestApp;
const sockets: Socket[] = [];
/** Why the server let each /jobs/stream client go, by socket id. */
const disconnects = new Map<string, string>();

beforeAll(async () => {
  // One process without Redis: the test publishes on its in-process event bus.
  app = await startTestApp(await createTestSpace('stream_limits'), { REDIS_URL: '', API_KEYS: KEY });
  const namespace = (app.app.get(JobStreamGateway) as unknown as { server: Namespace }).server;
  namespace.on('connection', (socket) => socket.on('disconnect', (reason) => disconnects.set(socket.id, reason)));
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app?.close();
});

async function client(path = '/jobs/stream', token: string | undefined = KEY): Promise<Socket> {
  const socket = io(`${app.baseUrl}${path}`, { transports: ['websocket'], reconnection: false, auth: token ? { token } : {} });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** A job_progress of a job no one else knows, about the size of a real update. */
const progress = (jobId: string, sequence: number): JobEvent => ({
  event: 'job_progress',
  jobId,
  data: {
    job_id: jobId, type: 'noop', priority: 'normal', status: 'running', attempt: 1, sequence,
    timestamp: new Date().toISOString(), worker_id: 'stream-limits-worker', progress: sequence % 100, progress_data: { step: 'x'.repeat(80) },
  },
});

describe('a client that stops reading', () => {
  it('is disconnected once too much waits for it, while a client that reads stays connected', async () => {
    const reader = await client();
    let received = 0;
    reader.on('job_update', () => (received += 1));
    const stalled = await client();
    // The stalled client keeps its connection alive (a pong now and then) but reads nothing more.
    const websocket = (stalled.io.engine.transport as unknown as { ws: { _socket: { pause(): void }; send(data: string): void } }).ws;
    websocket._socket.pause();
    const pongs = setInterval(() => websocket.send('3'), 200);
    const bus = app.app.get(JobEventBus);
    const jobId = '01900000-0000-7000-8000-00000000beef';
    let published = 0;
    try {
      // Bursts of 1,000 events until the server lets the client go, for up to a minute: 200,000 events
      // are several times what the kernel's buffers and the server's bound hold together, but on a busy
      // machine the 100 ms check may come late.
      const until = Date.now() + 60_000;
      while (!disconnects.has(stalled.id!) && Date.now() < until) {
        await bus.publish(Array.from({ length: 1_000 }, (_, i) => progress(jobId, published + i + 1)));
        published += 1_000;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      clearInterval(pongs);
    }
    expect(disconnects.get(stalled.id!)).toBe('forced close');
    await expectEventually(() => expect(received).toBe(published), { timeoutMs: 20_000 });
    expect(reader.connected).toBe(true);
    expect(disconnects.has(reader.id!)).toBe(false);
  }, 120_000);
});

describe('a client that stops reading and keeps asking for large acknowledgements', () => {
  it('is disconnected once the bytes queued for it pass the bound, though few messages wait', async () => {
    const stalled = await client();
    const ids = Array.from({ length: 1_000 }, (_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);
    // Every acknowledgement lists the client's subscriptions: ~39 KB each.
    expect((await stalled.emitWithAck('subscribe', { job_id: ids })).ok).toBe(true);
    const websocket = (stalled.io.engine.transport as unknown as { ws: { _socket: { pause(): void }; send(data: string): void } }).ws;
    websocket._socket.pause();
    const pongs = setInterval(() => websocket.send('3'), 200);
    let sent = 0;
    try {
      // 45 a second, within the message budget; 16 MiB of answers is ~430 of them, past what the kernel's buffers hold.
      const until = Date.now() + 60_000;
      while (!disconnects.has(stalled.id!) && Date.now() < until) {
        stalled.emit('subscribe', { job_id: ids[0] }, () => undefined);
        sent += 1;
        await new Promise((resolve) => setTimeout(resolve, 22));
      }
    } finally {
      clearInterval(pongs);
    }
    expect(disconnects.get(stalled.id!)).toBe('forced close');
    expect(sent).toBeLessThan(2_000); // far below the 20,000 messages the count alone allows
  }, 90_000);
});

describe('replay', () => {
  it('answers one replay of a connection at a time: those sent meanwhile are refused at once', async () => {
    const job = await app.post('/jobs', { type: 'noop' }, auth);
    expect(job.status).toBe(201);
    await expectEventually(async () => expect((await app.get(`/jobs/${job.body.id}`, auth)).body.status).toBe('completed'));
    const socket = await client();
    const answers = await Promise.all([1, 2, 3].map(() => socket.emitWithAck('replay', { job_id: job.body.id, after_sequence: 0 })));
    const answered = answers.filter((a) => a.ok);
    expect(answered).toHaveLength(1);
    expect(answered[0].events.map((e: { data: { sequence: number } }) => e.data.sequence)).toEqual([1, 2, 3]);
    expect(answers.filter((a) => !a.ok)).toEqual([
      { ok: false, error: REPLAY_IN_FLIGHT_ERROR },
      { ok: false, error: REPLAY_IN_FLIGHT_ERROR },
    ]);
    // Once answered, the next one is; a job with nothing newer, or no such job, is told apart.
    expect((await socket.emitWithAck('replay', { job_id: job.body.id, after_sequence: 2 })).events).toHaveLength(1);
    expect(await socket.emitWithAck('replay', { job_id: job.body.id.toUpperCase(), after_sequence: 3 })).toEqual({ ok: true, job_id: job.body.id, events: [] });
    const unknown = '01900000-0000-7000-8000-000000000002';
    expect(await socket.emitWithAck('replay', { job_id: unknown })).toEqual({ ok: false, error: `job ${unknown} not found` });
  });
});

describe('the main namespace', () => {
  it.each([
    ['without a key', undefined],
    ['with a key', KEY],
  ])('refuses a client %s, naming /jobs/stream', async (_name, token) => {
    await expect(client('/', token)).rejects.toThrow(MAIN_NAMESPACE_ERROR);
  });
});
