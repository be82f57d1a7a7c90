import type { DataSourceOptions } from 'typeorm';

type PostgresConnectionOptions = Extract<DataSourceOptions, { type: 'postgres' }>;
import { MIGRATIONS } from '../../migrations/index.js';
import type { AppConfig } from '../config/app-config.js';
import { ENTITIES } from './entities.js';
import { logConnectionError, ResilientPgClient } from './resilient-pg-client.js';

/** The one DataSource shape, shared by the app, the TypeORM CLI and the tests. Never `synchronize`. */
export function dataSourceOptions(config: AppConfig, url = config.databaseUrl): PostgresConnectionOptions {
  if (!url) throw new Error('DATABASE_URL is not set');
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    poolSize: config.dbPoolSize,
    applicationName: applicationName(config),
    // Every pooled client always has an 'error' listener (see ResilientPgClient), and so has the pool.
    // In a process that serves requests, a connection (a new one, or a free one of the pool) not
    // obtained within DB_CONNECT_TIMEOUT_MS fails the query: the request answers 503 instead of
    // waiting for an unreachable server. A worker has no one waiting on an answer: it waits (its
    // lease fences it if PostgreSQL stays away), rather than fail a boot or a write on a slow connect.
    extra: {
      Client: ResilientPgClient,
      connectionTimeoutMillis: config.role === 'worker' ? 0 : config.dbConnectTimeoutMs,
      // JIT compilation off: the statements here are short, and a mis-estimated one (a recursive walk
      // is estimated at millions of rows) paid 100-300 ms of compiling for a few ms of work.
      // A session idle inside a transaction past DB_IDLE_IN_TRANSACTION_TIMEOUT_MS is ended by
      // PostgreSQL: no transaction here waits on anything but its own statements, so only a frozen or
      // cut-off process gets there, and its row locks would otherwise hold every other process back
      // (the leader's lost-work sweep waited on them until its whole pool did).
      ...(config.databaseEmbedded
        ? { verify: resetSharedSession }
        : { options: `-c jit=off -c idle_in_transaction_session_timeout=${config.dbIdleInTransactionTimeoutMs}` }),
    },
    poolErrorHandler: (error: Error) => logConnectionError(error, 'pool'),
    // Failed queries surface as errors in our own logs; TypeORM's console echo of them would duplicate them.
    logging: ['warn', 'migration'],
  };
}

/** `draconic-<role>`, with the worker's id when it has one, so pg_stat_activity tells the processes apart. */
export function applicationName(config: AppConfig): string {
  const name = config.role !== 'api' && config.workerId ? `draconic-${config.role}-${config.workerId}` : `draconic-${config.role}`;
  return name.slice(0, 63); // PostgreSQL keeps NAMEDATALEN - 1 bytes
}

/**
 * The embedded database (PGlite) has one session for every connection. The pool drops a connection
 * whose query failed and opens a new one, but the session keeps what the old one left: its named
 * prepared statements (the new client, knowing none, would prepare them again and get "prepared
 * statement already exists" for every statement from then on) and an open transaction. So each new
 * connection starts by ending any transaction and forgetting every prepared statement (pg-pool's
 * `verify`, run before the connection is first handed out). The pool has one connection there
 * (DB_POOL_SIZE 1), so nothing else is using the session meanwhile.
 */
function resetSharedSession(client: { query(text: string, callback: (error: Error | null) => void): void }, done: (error?: Error) => void): void {
  client.query('ROLLBACK; DEALLOCATE ALL', (error) => done(error ?? undefined));
}
