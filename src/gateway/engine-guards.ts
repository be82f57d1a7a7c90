import type { IncomingMessage } from 'node:http';
import type { Server } from 'socket.io';
import { watchQueuedBytes, type PacketEvents } from './domain/backlog.js';
import { ConnectionsPerAddress, TOO_MANY_CONNECTIONS } from './domain/connections-per-address.js';

type EngineServer = Server['engine'];
type AllowRequest = (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;

/**
 * What one client may hold of the live-updates server: at most `maxPerAddress` connections open at once
 * from its address (a handshake past it is refused, before any other check: 0 = no limit), and what is
 * queued for each connection is counted in bytes (domain/backlog.ts).
 */
export function guardEngine(engine: EngineServer, maxPerAddress: number): void {
  const open = new ConnectionsPerAddress(maxPerAddress);
  const opts = engine.opts as { allowRequest?: AllowRequest };
  const allow = opts.allowRequest;
  opts.allowRequest = (req, callback) => {
    if (!open.admits(req.socket.remoteAddress ?? '')) return callback(TOO_MANY_CONNECTIONS, false);
    if (allow) return allow(req, callback);
    callback(null, true);
  };
  engine.on('connection', (conn: PacketEvents & { remoteAddress?: string; once(event: 'close', listener: () => void): unknown }) => {
    const address = conn.remoteAddress ?? '';
    open.opened(address);
    conn.once('close', () => open.closed(address));
    watchQueuedBytes(conn);
  });
}
