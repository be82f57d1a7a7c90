import { Logger } from '@nestjs/common';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

const logger = new Logger('EmbeddedPostgres');

/** Raised when another live process owns DATA_DIR. */
export class DataDirInUseError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `DATA_DIR ${dir} is in use by another draconic process (pid ${pid}); stop it, or give this one another DATA_DIR. ` +
        'Two processes on one embedded database would corrupt it.',
    );
    this.name = 'DataDirInUseError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An exclusive lock file on DATA_DIR; a stale one (its process gone) is taken over. */
function lockDataDir(dir: string): () => void {
  const file = join(dir, 'draconic.pid');
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new DataDirInUseError(dir, pid);
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${file}`);
}

export interface EmbeddedPostgres {
  /** A postgres:// URL on a loopback port, for the same TypeORM and pg code as a real server. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL without a server (DESIGN §9): PGlite keeping its files in `<DATA_DIR>/pgdata`,
 * served on a loopback port by pglite-socket. PGlite has one session for all connections, so the
 * app uses one connection (DB_POOL_SIZE is forced to 1) and never waits on a second one inside a
 * transaction.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const unlock = lockDataDir(dir);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const pgdata = join(dir, 'pgdata');
    const started = Date.now();
    const db = await PGlite.create({ dataDir: pgdata });
    // The app uses one connection; a few more are accepted so that the migration run's closing
    // connections, or a psql session for a look inside, are not refused.
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 4 });
    await server.start();
    logger.log(`embedded PostgreSQL (PGlite) up in ${Date.now() - started} ms, data in ${pgdata}`);
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      dataDir: dir,
      async stop() {
        await server.stop().catch(() => undefined);
        await db.close().catch(() => undefined);
        unlock();
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}
