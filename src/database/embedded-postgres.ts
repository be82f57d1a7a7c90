import { Logger } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EmbeddedThreadData, EmbeddedThreadMessage } from './embedded-postgres-thread.js';
import { acquireDataDirLock, DataDirInUseError, type HeldLock } from './data-dir-lock.js';

export { DataDirInUseError };

const logger = new Logger('EmbeddedPostgres');

/** Raised when DATA_DIR cannot hold the embedded database: not a folder, not writable, or PGlite could not open it. */
export class DataDirUnusableError extends Error {
  constructor(dir: string, reason: string) {
    super(`DATA_DIR ${dir} cannot hold the embedded database: ${reason}`);
    this.name = 'DataDirUnusableError';
  }
}

/** What a file-system error says about DATA_DIR, in a person's words. */
function unusableBecause(dir: string, error: unknown): DataDirUnusableError {
  const { code, path } = error as NodeJS.ErrnoException;
  const where = path && path !== dir ? ` (${path})` : '';
  const reason =
    code === 'EEXIST' || code === 'ENOTDIR'
      ? `it, or a folder on its path, is a file${where}; give DATA_DIR a folder`
      : code === 'EACCES' || code === 'EPERM'
        ? `this process (user id ${process.getuid?.() ?? '?'}) may not write there${where}; give it the folder or choose another DATA_DIR`
        : code === 'EROFS'
          ? `it is on a read-only file system${where}`
          : code === 'ENOSPC'
            ? `its disk is full${where}`
            : `${(error as Error).message ?? String(error)}`;
  return new DataDirUnusableError(dir, reason);
}

export interface EmbeddedPostgres {
  /** A postgres:// URL on a loopback port, for the same TypeORM and pg code as a real server. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL without a server (DESIGN §9): PGlite keeping its files in `<DATA_DIR>/pgdata`,
 * served on a loopback port by pglite-socket, both in a thread of their own
 * (embedded-postgres-thread.ts) so that the database's work runs beside the app's instead of
 * between its steps. PGlite has one session for all connections, so the app uses one connection
 * (DB_POOL_SIZE is forced to 1) and never waits on a second one inside a transaction.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  let lock: HeldLock;
  try {
    mkdirSync(dir, { recursive: true });
    lock = await acquireDataDirLock(dir, undefined, (owner) =>
      logger.warn(`DATA_DIR ${dir} is locked by ${owner}, which this process cannot ask directly (another container or host); waiting to see whether its heartbeat goes on`),
    );
  } catch (error) {
    if (error instanceof DataDirInUseError) throw error;
    throw unusableBecause(dir, error);
  }
  try {
    const pgdata = join(dir, 'pgdata');
    const started = Date.now();
    const thread = new Worker(new URL('./embedded-postgres-thread.js', import.meta.url), { workerData: { pgdata, lock: { file: lock.file, token: lock.token } } satisfies EmbeddedThreadData });
    const conn = await new Promise<string>((resolveConn, reject) => {
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`the embedded database's thread ended (exit code ${code}) before it served`)));
      thread.once('message', (message: EmbeddedThreadMessage) => {
        if (message.type === 'ready') resolveConn(message.conn);
        else reject(message.type === 'failed' ? new DataDirUnusableError(dir, `PGlite could not open ${pgdata}: ${message.message}`) : new Error(`unexpected message ${message.type}`));
      });
    }).catch(async (error: unknown) => {
      await thread.terminate();
      throw error;
    });
    thread.removeAllListeners();
    let stopping = false;
    thread.on('error', (error) => logger.error({ err: error }, "the embedded database's thread failed"));
    thread.on('message', (message: EmbeddedThreadMessage) => {
      if (message.type === 'lost') logger.fatal(`${message.message}: another process took DATA_DIR over while this one was frozen; stopping before writing to it again`);
      if (message.type === 'broken') {
        logger.fatal(`the embedded database could not use its files (${message.message}): stopping, as it cannot recover without being reopened; start the service again once DATA_DIR is writable (what was committed is kept)`);
      }
    });
    thread.on('exit', (code) => {
      if (stopping) return;
      // The process has no database left: end it, as PGlite failing on the app's own thread would
      // have, so that whatever supervises it starts it again (what was committed is in DATA_DIR).
      logger.fatal(`the embedded database's thread ended (exit code ${code}); stopping`);
      process.exit(1);
    });
    logger.log(`embedded PostgreSQL (PGlite) up in ${Date.now() - started} ms, data in ${pgdata}`);
    return {
      url: `postgres://postgres@${conn}/postgres`,
      dataDir: dir,
      async stop() {
        stopping = true;
        const stopped = new Promise<void>((done) => {
          thread.once('exit', () => done());
          thread.on('message', (message: EmbeddedThreadMessage) => {
            if (message.type === 'stopped') done();
          });
        });
        thread.postMessage({ type: 'stop' });
        await Promise.race([stopped, new Promise((done) => setTimeout(done, 10_000).unref())]);
        await thread.terminate().catch(() => undefined);
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
