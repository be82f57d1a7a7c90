/**
 * What the server still holds for one live-updates client. engine.io queues every packet of a
 * connection in `writeBuffer` while its transport cannot take more (a websocket whose last write the
 * network has not taken, a long-poll not renewed) and never drops one: a client that stops reading but
 * keeps its connection alive (it answers pings) would make that queue, and the process, grow until
 * it runs out of memory. A client found too far behind is disconnected instead: it reconnects and
 * replays what it missed, rather than losing events silently. Pure: reads the connection it is given.
 */

/** What is read of an engine.io connection (engine.io's Socket; a websocket transport's `socket` is ws's). */
export interface EngineConnection {
  writeBuffer: ReadonlyArray<{ data?: unknown }>;
  transport: { name: string; socket?: { bufferedAmount?: number } };
}

/**
 * Most messages queued for one client before it is disconnected: twice the largest burst one request
 * makes (a batch of MAX_BATCH_JOBS jobs, 10,000 by default, or a bulk action on 10,000 ids), so a
 * client that keeps up never reaches it; about 8 MB of ordinary events (~400 bytes each).
 */
export const MAX_QUEUED_MESSAGES = 20_000;

/** The queue bound for a service whose batches may be larger than the default. */
export const queuedMessagesLimit = (maxBatchJobs: number): number => Math.max(MAX_QUEUED_MESSAGES, 2 * maxBatchJobs);

/**
 * Most bytes a client may hold queued or written but unsent (the network has not taken them): a full
 * queue of ordinary events (~8 MB) and a replay answer (10,000 events, at most about 4 MiB of event
 * data past its last one: REPLAY_MAX_BYTES) fit under it.
 */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

/**
 * A replay is refused while more than this is queued for its client: its answer (up to 10,000 events,
 * a few MB in one message) would pile up behind what the client has not read yet.
 */
export const REPLAY_MAX_QUEUED_MESSAGES = 1_000;
export const REPLAY_MAX_QUEUED_BYTES = 1024 * 1024;

export const REPLAY_BACKLOG_ERROR =
  `this connection has not yet read what was sent to it (over ${REPLAY_MAX_QUEUED_MESSAGES} messages or 1 MB waiting): ` +
  'replay again once it has caught up';

const unsentBytes = (conn: EngineConnection): number => {
  const amount = conn.transport.name === 'websocket' ? conn.transport.socket?.bufferedAmount : undefined;
  return typeof amount === 'number' ? amount : 0;
};

const sizeOf = (data: unknown): number =>
  typeof data === 'string' ? data.length : data instanceof Uint8Array || data instanceof ArrayBuffer ? data.byteLength : 0;

/** What watchQueuedBytes needs of an engine.io connection: its packet events. */
export interface PacketEvents {
  on(event: 'packetCreate', listener: (packet: { data?: unknown }) => void): unknown;
  on(event: 'flush', listener: () => void): unknown;
}

/** Bytes in each watched connection's `writeBuffer` (watchQueuedBytes), kept as packets come and go. */
const queuedBytes = new WeakMap<object, { bytes: number }>();

/**
 * Keeps the size of what `conn` queues in `writeBuffer`, so that fallenBehind can tell it in constant
 * time: counting messages alone let a client that stops reading hold hundreds of MB in few of them
 * (acknowledgements of subscriptions to 1,000 jobs are ~39 KB each; large progress data). A packet
 * adds its size as it is queued; a flush empties the queue (its packets go to the transport, where
 * `bufferedAmount` counts them while unsent).
 */
export function watchQueuedBytes(conn: PacketEvents): void {
  const queued = { bytes: 0 };
  queuedBytes.set(conn, queued);
  conn.on('packetCreate', (packet) => void (queued.bytes += sizeOf(packet.data)));
  conn.on('flush', () => void (queued.bytes = 0));
}

/** Why the client is too far behind to keep (a sentence for the log), or null. Constant time. */
export function fallenBehind(conn: EngineConnection, maxMessages = MAX_QUEUED_MESSAGES): string | null {
  const queued = conn.writeBuffer.length;
  if (queued > maxMessages) return `${queued} messages queued (at most ${maxMessages})`;
  const held = unsentBytes(conn) + (queuedBytes.get(conn)?.bytes ?? 0);
  if (held > MAX_UNSENT_BYTES) return `${held} bytes queued or unsent (at most ${MAX_UNSENT_BYTES})`;
  return null;
}

/** Why a replay is refused now, for what is still waiting to reach the client, or null. */
export function replayBacklogError(conn: EngineConnection): string | null {
  if (conn.writeBuffer.length > REPLAY_MAX_QUEUED_MESSAGES) return REPLAY_BACKLOG_ERROR;
  let bytes = unsentBytes(conn);
  for (const packet of conn.writeBuffer) bytes += sizeOf(packet.data);
  return bytes > REPLAY_MAX_QUEUED_BYTES ? REPLAY_BACKLOG_ERROR : null;
}
