import { Logger } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/load-config.js';
import { MIGRATIONS } from '../../migrations/index.js';
import { migrationDataSourceOptions } from './data-source-options.js';
import { ResilientPgClient } from './resilient-pg-client.js';
import { withoutCredentials } from '../common/logging/boot-banner.js';

const MIGRATION_LOCK = 7_236_001; // pg_advisory_lock key: one migrator at a time across instances
const logger = new Logger('Database');

/** How long a boot waits for PostgreSQL to be reachable (not listening yet, starting up), by default. */
const DATABASE_WAIT_MS = 60_000;

export interface DatabaseWait {
  /** How long to wait for PostgreSQL not reachable yet; then the boot stops naming DATABASE_URL. */
  waitMs?: number;
  pollMs?: number;
  connectTimeoutMs?: number;
}

/**
 * Creates the database named in DATABASE_URL when it does not exist yet, so a fresh machine boots.
 * PostgreSQL not reachable yet (a compose or systemd start where it comes up a little after this
 * process) is waited for; a value it cannot use (a wrong user or password, no such host after the
 * wait) stops the boot with one line naming DATABASE_URL, without its password.
 */
export async function ensureDatabaseExists(url: string, { waitMs = DATABASE_WAIT_MS, pollMs = 1_000, connectTimeoutMs = 10_000 }: DatabaseWait = {}): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const deadline = Date.now() + waitMs;
  try {
    const probe = await connectWhenThere(url, { deadline, pollMs, connectTimeoutMs, waitForDatabase: false, waiting: 'waiting for PostgreSQL at DATABASE_URL' });
    await probe.end().catch(() => undefined);
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw unusable(url, error, waitMs); // 3D000: database does not exist
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new ResilientPgClient({ connectionString: admin.toString(), application_name: 'draconic-boot', connectionTimeoutMillis: connectTimeoutMs });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw unusable(url, error, 0, `database ${name} does not exist, and creating it needs a connection to the database "postgres" of the same server`);
  }
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    logger.log(`created database ${name}`);
  } catch (error) {
    // Created meanwhile by another instance: 42P04, or 23505 when both passed PostgreSQL's first check of the name at once.
    const code = (error as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw unusable(url, error, 0, `database ${name} does not exist and could not be created`);
  } finally {
    await client.end();
  }
}

/** The boot's one line for a DATABASE_URL PostgreSQL cannot be used with (its password left out). */
function unusable(url: string, error: unknown, waitedMs: number, what = 'cannot connect'): ConfigError {
  const reason = error instanceof Error ? error.message : String(error);
  const waited = waitedMs > 0 && transient(error) ? ` (waited ${(waitedMs / 1000).toFixed(waitedMs < 10_000 ? 1 : 0)} s for it)` : '';
  return new ConfigError([`DATABASE_URL (${withoutCredentials(url)}): ${what}: ${reason}${waited}`]);
}

/** PostgreSQL starting (57P03), not listening or not resolvable yet, or a connection that timed out: worth waiting for. */
function transient(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  if (code === '57P03' || (code !== undefined && /^E[A-Z]+$/.test(code))) return true;
  return code === undefined && /timeout|terminated unexpectedly/i.test(error instanceof Error ? error.message : '');
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
  let encodingChecked = Boolean(config.databaseEmbedded);
  let told = false;
  for (;;) {
    // A connection a poll (none kept idle between them: PostgreSQL restarting meanwhile costs a poll, not the boot).
    const missing = await pollSchema(config, { deadline, pollMs, waitMs }, async (client) => {
      if (!encodingChecked) {
        await assertUtf8Database(async (sql) => (await client.query<{ server_encoding: string }>(sql)).rows);
        encodingChecked = true;
      }
      return missingMigrations(client, expected);
    });
    if (missing?.length === 0) return;
    if (Date.now() >= deadline) {
      if (!missing) throw new ConfigError([`DATABASE_URL (${withoutCredentials(config.databaseUrl!)}): the connection was lost while this build's migrations were looked for, until the end of the wait`]);
      throw new ConfigError([
        `RUN_MIGRATIONS=false, and the database at DATABASE_URL lacks ${missing.length} of this build's migrations (${missing.join(', ')}): ` +
          'run them first (`npm run migration:run`, or one process started with RUN_MIGRATIONS=true), then start this one',
      ]);
    }
    if (missing && !told) {
      logger.warn(`RUN_MIGRATIONS=false: waiting up to ${Math.round(waitMs / 1000)} s for ${missing.length} migration(s) another process may be running (${missing.join(', ')})`);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** One poll of awaitMigratedSchema on a connection of its own; null when the connection was lost during it. */
async function pollSchema<T>(
  config: AppConfig,
  { deadline, pollMs, waitMs }: { deadline: number; pollMs: number; waitMs: number },
  work: (client: pg.Client) => Promise<T>,
): Promise<T | null> {
  const client = await connectWhenThere(config.databaseUrl!, {
    deadline,
    pollMs,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    waitForDatabase: true,
    waiting: 'RUN_MIGRATIONS=false: waiting for the database at DATABASE_URL',
  }).catch((error: unknown) => {
    throw unusable(config.databaseUrl!, error, waitMs);
  });
  try {
    const result = await work(client);
    await client.end().catch(() => undefined);
    return result;
  } catch (error) {
    void client.end().catch(() => undefined);
    if (error instanceof ConfigError) throw error;
    if (connectionLost(error)) return null;
    throw unusable(config.databaseUrl!, error, 0, 'cannot read its migrations');
  }
}

/** The session ended under a statement (PostgreSQL restarting or shutting down, the session terminated, the network). */
function connectionLost(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return transient(error) || code.startsWith('08') || code === '57P01' || code === '57P02' || /Connection terminated/i.test(error instanceof Error ? error.message : '');
}

/** One connection of the boot's own to `url` (`options`: session settings sent at connect); a failed connect ends it and throws. */
export async function connectBootClient(url: string, connectTimeoutMs: number, options?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'draconic-boot', connectionTimeoutMillis: connectTimeoutMs, options });
  // An idle client whose session ends emits 'error': unheard, it would end the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/**
 * A connection to `url`, waited for until `deadline` while PostgreSQL is starting (57P03), not listening
 * or not reachable yet, and with `waitForDatabase` while the database does not exist yet (3D000: the
 * API beside this process creates it); then the last error is thrown. Other errors (a wrong password)
 * at once.
 */
async function connectWhenThere(
  url: string,
  { deadline, pollMs, connectTimeoutMs, waitForDatabase, waiting }: { deadline: number; pollMs: number; connectTimeoutMs: number; waitForDatabase: boolean; waiting: string },
): Promise<pg.Client> {
  let told = false;
  for (;;) {
    try {
      return await connectBootClient(url, connectTimeoutMs);
    } catch (error) {
      const passing = transient(error) || (waitForDatabase && (error as { code?: string }).code === '3D000');
      if (!passing || Date.now() >= deadline) throw error;
      if (!told) {
        logger.warn(`${waiting} (${(error as Error).message})`);
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
