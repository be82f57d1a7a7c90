/**
 * The embedded database's own thread (startEmbeddedPostgres): PGlite and the pglite-socket server that
 * serves it on a loopback port. PGlite runs PostgreSQL as WebAssembly, synchronously: on the app's
 * thread every statement would stop HTTP, the scheduler and the handlers while it runs. Here it runs
 * beside them, on another core.
 *
 * Messages: to the app `{type: 'ready', conn}` once it serves, `{type: 'failed', message}` when it
 * could not start, `{type: 'stopped'}` after a `{type: 'stop'}` from the app, and `{type: 'lost', message}`
 * before the thread ends because DATA_DIR's lock was taken over (data-dir-lock.ts).
 *
 * The lock's heartbeat runs here, beside the database, rather than on the app's thread: what it vouches
 * for is that the database is alive, and a handler holding the app's thread must not let another process
 * take DATA_DIR while this one still writes to it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { keepDataDirLock } from './data-dir-lock.js';
import { FileFailureScanner } from './embedded-file-failures.js';

export interface EmbeddedThreadData {
  pgdata: string;
  lock: { file: string; token: string };
}

export type EmbeddedThreadMessage =
  | { type: 'ready'; conn: string }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'lost'; message: string }
  | { type: 'broken'; message: string };

async function serve(port: NonNullable<typeof parentPort>, { pgdata, lock }: EmbeddedThreadData): Promise<void> {
  keepDataDirLock(lock.file, lock.token, (why) => {
    port.postMessage({ type: 'lost', message: why } satisfies EmbeddedThreadMessage);
    // Not one more write: the thread ends here, and the app with it (startEmbeddedPostgres).
    process.exit(1);
  });
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ dataDir: pgdata });
  watchFileFailures(db, (message) => {
    port.postMessage({ type: 'broken', message } satisfies EmbeddedThreadMessage);
    // PGlite stays broken until reopened (embedded-file-failures.ts): the thread ends, and the app with it.
    process.exit(1);
  });
  // The app uses one connection; a few more are accepted so that the migration run's closing
  // connections, or a psql session for a look inside, are not refused.
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 4 });
  await server.start();
  port.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    void (async () => {
      await server.stop().catch(() => undefined);
      await db.close().catch(() => undefined);
      port.postMessage({ type: 'stopped' } satisfies EmbeddedThreadMessage);
      port.close();
    })();
  });
  port.postMessage({ type: 'ready', conn: server.getServerConn() } satisfies EmbeddedThreadMessage);
}

/** Reads every answer the socket server passes on (execProtocolRawStream) for a failure of the database's files. */
function watchFileFailures(db: object, broken: (message: string) => void): void {
  type Stream = (message: Uint8Array, options?: { onRawData?: (data: Uint8Array) => void }) => Promise<unknown>;
  const target = db as { execProtocolRawStream: Stream };
  const original = target.execProtocolRawStream.bind(db);
  target.execProtocolRawStream = (message, options = {}) => {
    const scanner = new FileFailureScanner(broken);
    return original(message, {
      ...options,
      onRawData: (data) => {
        options.onRawData?.(data);
        scanner.push(data);
      },
    });
  };
}

if (parentPort) {
  const port = parentPort;
  serve(port, workerData as EmbeddedThreadData).catch((error: unknown) => {
    port.postMessage({ type: 'failed', message: describe(error) } satisfies EmbeddedThreadMessage);
    port.close();
  });
}

/**
 * An error thrown in the thread, in words: PGlite's file layer throws plain objects (an Emscripten errno,
 * `{errno: 2}`), which String() makes "[object Object]".
 */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { message, code, errno } = error as { message?: unknown; code?: unknown; errno?: unknown };
    if (typeof message === 'string' && message) return message;
    if (typeof code === 'string' || typeof errno === 'number') {
      return `file-system error ${[code, errno === undefined ? undefined : `errno ${String(errno)}`].filter(Boolean).join(', ')} (check that this process may read and write the folder)`;
    }
    try {
      return JSON.stringify(error);
    } catch {
      return Object.prototype.toString.call(error);
    }
  }
  return String(error);
}
