import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { HeartbeatConnection } from './heartbeat-connection.js';

/** A server that refuses every PostgreSQL connection as a server at its connection limit does. */
function refusingServer(): Promise<{ url: string; close: () => void }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.once('data', () => {
        // ErrorResponse: severity FATAL, code 53300 (too_many_connections), message.
        const fields = Buffer.from('SFATAL\0C53300\0Msorry, too many clients already\0\0');
        const head = Buffer.alloc(5);
        head.write('E', 0);
        head.writeInt32BE(fields.length + 4, 1);
        socket.end(Buffer.concat([head, fields]));
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `postgres://u@127.0.0.1:${port}/db`, close: () => server.close() });
    });
  });
}

describe('HeartbeatConnection', () => {
  it('sends a beat through the pool when no connection of its own can be opened (the connection limit reached)', async () => {
    const server = await refusingServer();
    const pooled: string[] = [];
    const sql = { query: async (text: string) => (pooled.push(text), [{ alive: true }]) };
    const connection = new HeartbeatConnection({ databaseUrl: server.url, databaseEmbedded: false, dbConnectTimeoutMs: 3000, dbQueryTimeoutMs: 0, role: 'worker' } as never, sql as never);
    try {
      await expect(connection.query('SELECT 1', [])).resolves.toEqual([{ alive: true }]);
      expect(pooled).toEqual(['SELECT 1']);
    } finally {
      connection.onApplicationShutdown();
      server.close();
    }
  });

  it('takes the pool in embedded mode (one session for every connection)', async () => {
    const sql = { query: async () => [{ n: 1 }] };
    const connection = new HeartbeatConnection({ databaseUrl: 'postgres://x@127.0.0.1:1/db', databaseEmbedded: true } as never, sql as never);
    await expect(connection.query('SELECT 1', [])).resolves.toEqual([{ n: 1 }]);
  });
});
