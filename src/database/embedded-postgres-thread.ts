/**
 * The embedded database's own thread (startEmbeddedPostgres): PGlite and the pglite-socket server that
 * serves it on a loopback port. PGlite runs PostgreSQL as WebAssembly, synchronously: on the app's
 * thread every statement would stop HTTP, the scheduler and the handlers while it runs. Here it runs
 * beside them, on another core.
 *
 * Messages: to the app `{type: 'ready', conn}` once it serves, `{type: 'failed', message}` when it
 * could not start, `{type: 'stopped'}` after a `{type: 'stop'}` from the app.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface EmbeddedThreadData {
  pgdata: string;
}

export type EmbeddedThreadMessage = { type: 'ready'; conn: string } | { type: 'failed'; message: string } | { type: 'stopped' };

async function serve(port: NonNullable<typeof parentPort>, { pgdata }: EmbeddedThreadData): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ dataDir: pgdata });
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
