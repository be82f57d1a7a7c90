import type { Readable } from 'node:stream';

/**
 * The high-water mark data_fetch gives undici for a response body: above the largest `max_bytes`
 * plus a socket read, so that the bytes that come with the headers, before the body is being read,
 * never fill it (see readBody).
 */
export const BODY_HIGH_WATER_MARK = 2 * 1024 * 1024;

/**
 * Stops a body's download and drops what it holds. Destroying a body not read to its end makes undici
 * emit an abort error on it: with no listener for it, that error would end the process.
 */
export function discard(body: Readable): void {
  if (body.destroyed) return;
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Reads a body up to `limit` bytes; past it, stops the download and throws (or, with `truncate`,
 * resolves with what it has).
 *
 * The body flows (a `data` listener) and is never held back: `progress` is called without waiting
 * for it, each call after the one before, and the read resolves only once they are done. A body whose
 * reader falls behind pauses undici's HTTP/1 parser, and a server that closes the connection while
 * it is paused (an HTTP/1.0 answer, `Connection: close`) then fails an assertion in undici's socket
 * `end` handler, outside any promise, which ends the process (undici 7; fixed only in 8, which needs
 * Node 22).
 */
export function readBody(
  body: Readable,
  limit: number,
  { progress, declared, truncate = false }: { progress?: (percent: number) => Promise<void>; declared?: number; truncate?: boolean },
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let reported = 0;
    let reports: Promise<void> = Promise.resolve();
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        discard(body);
        if (truncate) settle(() => resolve(Buffer.concat([...chunks, chunk]).subarray(0, limit)));
        else settle(() => reject(new Error(`data_fetch: the response body exceeds max_bytes (${limit}); download stopped`)));
        return;
      }
      chunks.push(chunk);
      if (progress && declared && Number.isFinite(declared)) {
        const percent = Math.floor((total / declared) * 10) * 10;
        if (percent > reported) {
          reported = percent;
          reports = reports.then(() => progress(percent));
        }
      }
    };
    body.on('data', onData);
    body.once('error', (error) => settle(() => reject(error)));
    body.once('end', () => {
      if (settled) return;
      reports.then(
        () => settle(() => resolve(Buffer.concat(chunks))),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  });
}
