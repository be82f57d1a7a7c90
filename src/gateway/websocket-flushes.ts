import type { Server } from 'socket.io';

type EngineServer = Server['engine'];

interface Transport {
  name: string;
  send(packets: unknown[]): void;
  /** The `ws` WebSocket of a websocket transport; `_socket` is its TCP socket. */
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

/**
 * Sends each engine.io flush to a websocket client in one write. engine.io writes every packet of a
 * flush as its own frame, and each frame was its own `writev` system call: with hundreds of clients
 * and a burst of job events, those calls were 42% of the process's CPU (profiled in the fan-out
 * bench). Corking the TCP socket for the length of the flush hands the kernel all its frames at once;
 * nothing else changes (same frames, same order, same callbacks). Relies on two stable internals,
 * engine.io's `transport.socket` (the ws socket) and ws's `_socket`; without them it does nothing.
 */
export function sendWebSocketFlushesInOneWrite(engine: EngineServer): void {
  engine.on('connection', (conn: { transport: Transport; on(event: 'upgrade', listener: (t: Transport) => void): void }) => {
    corkFlushes(conn.transport);
    conn.on('upgrade', (transport) => corkFlushes(transport));
  });
}

function corkFlushes(transport: Transport): void {
  const tcp = transport.name === 'websocket' ? transport.socket?._socket : undefined;
  if (!tcp || typeof tcp.cork !== 'function' || typeof tcp.uncork !== 'function') return;
  const send = transport.send.bind(transport);
  transport.send = (packets) => {
    tcp.cork();
    try {
      send(packets);
    } finally {
      tcp.uncork();
    }
  };
}
