import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, Manager, type Socket } from 'socket.io-client';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * What one client may hold of the live-updates server: a bounded number of connections per address,
 * and one try of an API key per connection.
 */
const KEY = 'stream-connections-key-0123456789';
let app: TestApp;
const sockets: Socket[] = [];

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('stream_connections'), { REDIS_URL: '', API_KEYS: KEY, MAX_STREAM_CONNECTIONS_PER_ADDRESS: '3' });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app?.close();
});

/** A connection of its own (not multiplexed with the others): connected, or the error it got. */
async function connect(token = KEY): Promise<{ socket: Socket; error?: Error }> {
  const socket = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (error) => resolve({ socket, error }));
  });
}

describe('connections per address', () => {
  it('refuses a handshake past MAX_STREAM_CONNECTIONS_PER_ADDRESS, and admits one again once a connection closes', async () => {
    const open = await Promise.all([connect(), connect(), connect()]);
    expect(open.map((c) => c.error)).toEqual([undefined, undefined, undefined]);
    const fourth = await connect();
    expect(fourth.error).toBeDefined();
    open[0]!.socket.close();
    await expectEventually(async () => expect((await connect()).error).toBeUndefined(), { timeoutMs: 5_000, intervalMs: 100 });
    for (const s of sockets) s.close();
  });
});

describe('API keys over the live-updates handshake', () => {
  it('closes the connection after a refused key: one try per connection', async () => {
    await expectEventually(async () => {
      const manager = new Manager(app.baseUrl, { transports: ['websocket'], reconnection: false, autoConnect: false });
      try {
        await new Promise<void>((resolve, reject) => manager.open((error) => (error ? reject(error) : resolve())));
        const engine = manager.engine as unknown as { write(data: string): void; on(event: string, listener: (data?: unknown) => void): void };
        const replies: unknown[] = [];
        let closed = false;
        engine.on('message', (data) => replies.push(data));
        engine.on('close', () => (closed = true));
        // Tries sent one after another down the same connection, as a guesser would.
        // (a Socket.IO CONNECT packet, type 0: engine.io adds its own message type, 4, on the wire)
        for (let i = 0; i < 20; i++) engine.write(`0/jobs/stream,${JSON.stringify({ token: `guess-${i}` })}`);
        await expectEventually(() => expect(closed).toBe(true), { timeoutMs: 3_000 });
        expect(replies.length).toBeLessThan(20);
        expect(String(replies[0])).toContain('invalid API key');
      } finally {
        manager.engine?.close();
      }
    }, { timeoutMs: 10_000, intervalMs: 200 });
  });
});
