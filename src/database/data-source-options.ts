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
    // waiting for an unreachable server. A worker has no one waiting on an answer: it waits longer (its
    // lease fences it if PostgreSQL stays away), rather than fail a write on a slow connect, but not
    // forever: a server that accepted the connection and never answers would hold it for good, its
    // shutdown too. Past DB_QUERY_TIMEOUT_MS the write fails as on a lost connection and is tried again.
    extra: {
      Client: ResilientPgClient,
      // A statement unanswered a little past DB_QUERY_TIMEOUT_MS closes its connection (ResilientPgClient.query).
      // Not with the embedded database: it runs in a thread of this process, with no network to fall silent.
      stallTimeoutMillis: config.databaseEmbedded ? 0 : stallTimeoutMs(config.dbQueryTimeoutMs),
      // TCP keepalive: an idle pooled connection whose peer is gone is found out (after some minutes).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: config.role === 'worker' ? config.dbQueryTimeoutMs : config.dbConnectTimeoutMs,
      // JIT compilation off: the statements here are short, and a mis-estimated one (a recursive walk
      // is estimated at millions of rows) paid 100-300 ms of compiling for a few ms of work.
      // A session idle inside a transaction past DB_IDLE_IN_TRANSACTION_TIMEOUT_MS is ended by
      // PostgreSQL: no transaction here waits on anything but its own statements, so only a frozen or
      // cut-off process gets there, and its row locks would otherwise hold every other process back
      // (the leader's lost-work sweep waited on them until its whole pool did).
      ...(config.databaseEmbedded
        ? { verify: resetSharedSession }
        : { options: `-c jit=off -c idle_in_transaction_session_timeout=${config.dbIdleInTransactionTimeoutMs}${serverStatementTimeout(config.dbQueryTimeoutMs)}` }),
    },
    poolErrorHandler: (error: Error) => logConnectionError(error, 'pool'),
    // Failed queries surface as errors in our own logs; TypeORM's console echo of them would duplicate them.
    logging: ['warn', 'migration'],
  };
}

/**
 * The same options for migrations: no statement timeout. A migration may rebuild an index for minutes, and
 * the migration lock (`pg_advisory_lock`) waits for as long as another instance migrates.
 */
export function migrationDataSourceOptions(config: AppConfig, url = config.databaseUrl): PostgresConnectionOptions {
  const options = dataSourceOptions(config, url);
  const extra = { ...options.extra, stallTimeoutMillis: 0 } as Record<string, unknown>;
  if (typeof extra.options === 'string') extra.options = extra.options.replace(serverStatementTimeout(config.dbQueryTimeoutMs), '');
  return { ...options, extra };
}

/**
 * How long the client waits for a statement's answer before it closes the connection: DB_QUERY_TIMEOUT_MS
 * and a margin (a second, or a fifth of it when that is longer). Within the margin the server's own
 * cancel (statement_timeout, 57014) arrives first on a connection that still carries bytes: the request
 * then answers QUERY_TIMEOUT on a connection kept, and only a connection that fell silent is closed and
 * answered as PostgreSQL unavailable. Timed alike, the client always won the race: every slow statement
 * read as an outage, and cost a connection.
 */
export function stallTimeoutMs(queryTimeoutMs: number): number {
  return queryTimeoutMs > 0 ? queryTimeoutMs + Math.max(1000, Math.round(queryTimeoutMs / 5)) : 0;
}

/**
 * The server's side of DB_QUERY_TIMEOUT_MS: PostgreSQL cancels a statement that runs that long, just
 * before the client would give up on it and close its connection (ResilientPgClient, stallTimeoutMs). Without it an
 * abandoned statement runs on in the server, holding its locks and its connection slot, while the
 * caller tries it again on a new connection: under overload each retry adds to the load it gave up on.
 */
function serverStatementTimeout(queryTimeoutMs: number): string {
  return queryTimeoutMs > 0 ? ` -c statement_timeout=${queryTimeoutMs}` : '';
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
