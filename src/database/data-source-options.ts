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
    extra: { Client: ResilientPgClient, connectionTimeoutMillis: config.role === 'worker' ? 0 : config.dbConnectTimeoutMs },
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
