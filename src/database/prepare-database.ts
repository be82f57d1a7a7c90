import { Logger } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/load-config.js';
import { migrationDataSourceOptions } from './data-source-options.js';
import { ResilientPgClient } from './resilient-pg-client.js';

const MIGRATION_LOCK = 7_236_001; // pg_advisory_lock key: one migrator at a time across instances
const logger = new Logger('Database');

/** Creates the database named in DATABASE_URL when it does not exist yet, so a fresh machine boots. */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const probe = new ResilientPgClient({ connectionString: url, application_name: 'draconic-boot' });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // 3D000: database does not exist
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new ResilientPgClient({ connectionString: admin.toString(), application_name: 'draconic-boot' });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    logger.log(`created database ${name}`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error; // created meanwhile by another instance
  } finally {
    await client.end();
  }
}

/**
 * Refuses a database whose server_encoding is not UTF8: PostgreSQL would refuse every payload,
 * result, log line or name holding a character that encoding lacks ("日本" on LATIN1 fails with
 * 22P05), in the middle of the service's work. SQL_ASCII is refused too: it stores bytes unchecked.
 */
export async function assertUtf8Database(query: (sql: string) => Promise<Array<{ server_encoding: string }>>): Promise<void> {
  const [row] = await query(`SHOW server_encoding`);
  const encoding = row?.server_encoding;
  if (encoding === 'UTF8') return;
  throw new ConfigError([
    `DATABASE_URL: the database's server_encoding is ${encoding ?? 'unknown'}; draconic needs a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8')`,
  ]);
}

/** Runs pending migrations under an advisory lock, so instances booting together do not race. */
export async function runMigrations(config: AppConfig, url = config.databaseUrl): Promise<string[]> {
  const source = new DataSource({ ...migrationDataSourceOptions(config, url), poolSize: 2, logging: ['error'] });
  await source.initialize();
  const runner = source.createQueryRunner();
  try {
    await runner.connect();
    // The embedded database is created UTF8 by this service.
    if (!config.databaseEmbedded) await assertUtf8Database((sql) => runner.query(sql));
    await runner.query(`SELECT pg_advisory_lock($1)`, [MIGRATION_LOCK]);
    try {
      const ran = await source.runMigrations({ transaction: 'each' });
      if (ran.length > 0) logger.log(`ran migrations: ${ran.map((m) => m.name).join(', ')}`);
      return ran.map((m) => m.name);
    } finally {
      await runner.query(`SELECT pg_advisory_unlock($1)`, [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
    await source.destroy();
  }
}
