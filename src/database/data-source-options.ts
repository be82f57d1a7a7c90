import type { DataSourceOptions } from 'typeorm';

type PostgresConnectionOptions = Extract<DataSourceOptions, { type: 'postgres' }>;
import { MIGRATIONS } from '../../migrations/index.js';
import type { AppConfig } from '../config/app-config.js';
import { ENTITIES } from './entities.js';

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
    applicationName: `draconic-${config.role}`,
    // Failed queries surface as errors in our own logs; TypeORM's console echo of them would duplicate them.
    logging: ['warn', 'migration'],
  };
}
