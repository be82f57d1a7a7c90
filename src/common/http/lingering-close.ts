/**
 * Lingering close, as nginx does it: when the service answers before it read a request's whole body
 * (a 413 for a body over MAX_BODY_BYTES, a malformed or refused body) and closes the connection, the
 * client may still be writing. Closing at once would make the kernel answer the rest of the body
 * with a reset, which can destroy the answer before the client reads it. Instead, the service sends
 * its answer, closes its side for writing, and reads and discards what the client still sends (up
 * to a bound in bytes and in time) before it closes the connection.
 */
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Most bytes read and discarded after the answer. */
  maxBytes: number;
  /** Longest wait for the rest of the body after the answer, in milliseconds. */
  maxMs: number;
}

/** A client that sends 16 MiB more, or takes 5 s more, has had ample time to read the answer. */
export const LINGER_LIMITS: LingerLimits = { maxBytes: 16 * 1024 * 1024, maxMs: 5000 };

const LINGERING = Symbol('draconic.lingering');

/**
 * Keeps `socket` reading (and discarding `request`'s body) after the answer is written, instead of
 * letting Node destroy it as soon as the answer is out; destroys it when the body ended or a limit
 * is reached. Node closes a `Connection: close` answer through `socket.destroySoon()`, replaced
 * here for this one socket.
 */
export function lingerBeforeClose(socket: Socket, request: IncomingMessage, limits: LingerLimits = LINGER_LIMITS): void {
  const marked = socket as Socket & { [LINGERING]?: true };
  if (marked[LINGERING] || socket.destroyed) return;
  marked[LINGERING] = true;
  let discarded = 0;
  let answered = false; // the answer is written out (and a FIN sent)
  let done = false; // the body ended, or a limit was reached
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  // Never before the answer is out: closing earlier would lose it.
  const finish = () => {
    done = true;
    if (answered) close();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limits.maxBytes) finish();
  };
  // Reading the body here (rather than Node's own dump of it) lets the bytes be counted.
  request.on('data', onData);
  request.once('end', finish);
  request.once('error', finish);
  request.resume();
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    // Half-close: the answer and a FIN go out; reading goes on until the body ends or a limit is hit.
    if (this.writable) this.end();
    const afterAnswer = () => {
      answered = true;
      if (done) return close();
      timer = setTimeout(close, limits.maxMs);
      timer.unref();
    };
    if (this.writableFinished) afterAnswer();
    else this.once('finish', afterAnswer);
  };
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Lingers on every answer that closes its connection before the request's body was read whole
 * (Fastify closes after any body error, so that leftover bytes are never read as a next request).
 */
export function installLingeringClose(fastify: FastifyInstance, limits: LingerLimits = LINGER_LIMITS): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw;
    if (!raw.complete && String(reply.getHeader('connection') ?? '').toLowerCase() === 'close') {
      lingerBeforeClose(raw.socket, raw, limits);
    }
    done(null, payload);
  });
}
