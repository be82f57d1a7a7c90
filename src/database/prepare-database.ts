import { Logger } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/load-config.js';
import { MIGRATIONS } from '../../migrations/index.js';
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
    // Created meanwhile by another instance: 42P04, or 23505 when both passed PostgreSQL's first check of the name at once.
    const code = (error as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw error;
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

/**
 * With RUN_MIGRATIONS=false the process still needs the schema its code was built for: it waits for
 * every migration it knows to have been run (another process, an API starting beside it, may be
 * migrating), for at most `waitMs`, then stops at boot naming what is missing. Without this check a
 * worker started before its API had migrated would record completed jobs as failed (a column missing),
 * and an API on an empty database would answer /health and 500 on everything else. A database with
 * more migrations than this build knows is accepted: a rolling deploy runs older processes on a newer
 * schema. The database must be UTF8, as when the migrations run.
 */
export async function awaitMigratedSchema(config: AppConfig, { waitMs = 60_000, pollMs = 1_000 } = {}): Promise<void> {
  const expected = MIGRATIONS.map((m) => (new m() as { name?: string }).name ?? m.name);
  const deadline = Date.now() + waitMs;
  const client = await connectWhenThere(config, deadline, pollMs);
  try {
    if (!config.databaseEmbedded) await assertUtf8Database(async (sql) => (await client.query<{ server_encoding: string }>(sql)).rows);
    let told = false;
    for (;;) {
      const missing = await missingMigrations(client, expected);
      if (missing.length === 0) return;
      if (Date.now() >= deadline) {
        throw new ConfigError([
          `RUN_MIGRATIONS=false, and the database at DATABASE_URL lacks ${missing.length} of this build's migrations (${missing.join(', ')}): ` +
            'run them first (`npm run migration:run`, or one process started with RUN_MIGRATIONS=true), then start this one',
        ]);
      }
      if (!told) {
        logger.warn(`RUN_MIGRATIONS=false: waiting up to ${Math.round(waitMs / 1000)} s for ${missing.length} migration(s) another process may be running (${missing.join(', ')})`);
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A connection to DATABASE_URL, waited for until `deadline` while the database does not exist yet (3D000:
 * the API beside this process creates it), PostgreSQL is starting (57P03) or not listening yet
 * (a refused or failed connection); then the last error is thrown. Other errors (a wrong password) at once.
 */
async function connectWhenThere(config: AppConfig, deadline: number, pollMs: number): Promise<pg.Client> {
  let told = false;
  for (;;) {
    const client = new pg.Client({ connectionString: config.databaseUrl!, connectionTimeoutMillis: config.dbConnectTimeoutMs });
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = (error as { code?: string }).code;
      const passing = code === '3D000' || code === '57P03' || code === undefined || /^E[A-Z]+$/.test(code);
      if (!passing || Date.now() >= deadline) throw error;
      if (!told) {
        logger.warn(`RUN_MIGRATIONS=false: waiting for the database at DATABASE_URL (${(error as Error).message})`);
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

async function missingMigrations(client: pg.Client, expected: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ present: boolean }>(`SELECT to_regclass('public.migrations') IS NOT NULL AS present`);
  if (!rows[0]?.present) return [...expected];
  const ran = new Set((await client.query<{ name: string }>('SELECT name FROM migrations')).rows.map((r) => r.name));
  return expected.filter((name) => !ran.has(name));
}
