import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import type { AppConfig } from '../../src/config/app-config.js';
import { ConfigError } from '../../src/config/load-config.js';
import { awaitMigratedSchema, ensureDatabaseExists } from '../../src/database/prepare-database.js';
import { freePort } from '../support/processes.js';
import { createTestSpace, type TestSpace } from '../support/test-app.js';
import { databaseUrl, runId, TEST_DATABASE_URL } from '../support/test-env.js';

/** With RUN_MIGRATIONS=false a process waits for the schema it was built for, then stops at boot naming what is missing. */
let admin: pg.Client;
let space: TestSpace;
const created: string[] = [];

beforeAll(async () => {
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  space = await createTestSpace('schema_check');
});

afterAll(async () => {
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin.end();
});

const configFor = (url: string) => ({ databaseUrl: url, databaseEmbedded: false, dbConnectTimeoutMs: 5000 }) as AppConfig;

async function emptyDatabase(): Promise<string> {
  const name = `draconic_test_${runId()}_schema_${randomBytes(3).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  created.push(name);
  return databaseUrl(name);
}

/** A database whose migrations table lists every migration of this build but the last (as if it were being run), with a client on it. */
async function lackingLastMigration(): Promise<{ url: string; client: pg.Client; addLast: () => Promise<unknown> }> {
  const url = await emptyDatabase();
  const source = new pg.Client({ connectionString: space.databaseUrl });
  await source.connect();
  const names = (await source.query<{ timestamp: string; name: string }>('SELECT timestamp, name FROM migrations ORDER BY id')).rows;
  await source.end();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE migrations (id serial PRIMARY KEY, timestamp bigint NOT NULL, name varchar NOT NULL)');
  const last = names.pop()!;
  for (const m of names) await client.query('INSERT INTO migrations (timestamp, name) VALUES ($1, $2)', [m.timestamp, m.name]);
  return { url, client, addLast: () => client.query('INSERT INTO migrations (timestamp, name) VALUES ($1, $2)', [last.timestamp, last.name]) };
}

describe('RUN_MIGRATIONS=false', () => {
  it('goes on at once on a database migrated to this build', async () => {
    await expect(awaitMigratedSchema(configFor(space.databaseUrl), { waitMs: 0 })).resolves.toBeUndefined();
  });

  it('stops on an empty database after the wait, naming RUN_MIGRATIONS and the migrations missing', async () => {
    const error = await awaitMigratedSchema(configFor(await emptyDatabase()), { waitMs: 300, pollMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/RUN_MIGRATIONS=false, and the database at DATABASE_URL lacks \d+ of this build's migrations \(CreateSchema1795800000000, /);
  });

  it('waits for migrations another process is running, and goes on once they are in', async () => {
    const { url, client, addLast } = await lackingLastMigration();
    try {
      const waiting = awaitMigratedSchema(configFor(url), { waitMs: 20_000, pollMs: 50 });
      let settled = false;
      void waiting.then(() => (settled = true), () => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false); // one migration still missing: it waits
      await addLast();
      await expect(waiting).resolves.toBeUndefined();
    } finally {
      await client.end();
    }
  });

  it('keeps waiting when PostgreSQL ends its sessions meanwhile (a restart), and goes on once the migrations are in', async () => {
    const { url, client, addLast } = await lackingLastMigration();
    try {
      const waiting = awaitMigratedSchema(configFor(url), { waitMs: 20_000, pollMs: 100 });
      let settled = false;
      void waiting.then(() => (settled = true), () => (settled = true));
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 60));
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      }
      expect(settled).toBe(false);
      await addLast();
      await expect(waiting).resolves.toBeUndefined();
    } finally {
      await client.end();
    }
  });

  it('waits for a database that does not exist yet (the API beside it creates it), and goes on once it is migrated', async () => {
    const name = `draconic_test_${runId()}_schema_${randomBytes(3).toString('hex')}`;
    created.push(name);
    const waiting = awaitMigratedSchema(configFor(databaseUrl(name)), { waitMs: 20_000, pollMs: 50 });
    let settled = false;
    void waiting.then(() => (settled = true), () => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(new URL(space.databaseUrl).pathname.slice(1))}`);
    await expect(waiting).resolves.toBeUndefined();
  });
});

describe('creating the database at boot', () => {
  it('several instances booting at once on a fresh server: every one goes on', async () => {
    const name = `draconic_test_${runId()}_create_${randomBytes(3).toString('hex')}`;
    created.push(name);
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => ensureDatabaseExists(databaseUrl(name))));
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [name]);
    expect(rows[0].n).toBe(1);
  });
});

describe('a DATABASE_URL PostgreSQL cannot be used with', () => {
  /** `url` with its host and port replaced. */
  const at = (url: string, port: number) => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    return u.toString();
  };

  it('stops the boot with one line naming DATABASE_URL, without the password: a wrong user at once, a closed port after the wait', async () => {
    const wrongUser = new URL(databaseUrl(`draconic_test_${runId()}_nobody`));
    wrongUser.username = 'no_such_role_here';
    wrongUser.password = 's3cret-pass';
    const startedAt = Date.now();
    const refused = await ensureDatabaseExists(wrongUser.toString(), { waitMs: 20_000, pollMs: 50 }).catch((error: unknown) => error);
    expect(Date.now() - startedAt).toBeLessThan(10_000); // not waited for: it will not get better
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^invalid configuration: DATABASE_URL \(postgres:\/\/127\.0\.0\.1:\d+\/draconic_test_\w+\): cannot connect: .*no_such_role_here/);
    expect((refused as Error).message).not.toContain('s3cret-pass');

    const closed = await ensureDatabaseExists(at(databaseUrl('anything'), await freePort()), { waitMs: 300, pollMs: 50 }).catch((error: unknown) => error);
    expect(closed).toBeInstanceOf(ConfigError);
    expect((closed as Error).message).toMatch(/^invalid configuration: DATABASE_URL \(.*\): cannot connect: .*ECONNREFUSED.*\(waited 0\.3 s for it\)$/);
  });

  it('waits for PostgreSQL that starts listening after the boot began (RUN_MIGRATIONS=true)', async () => {
    const port = await freePort();
    const name = `draconic_test_${runId()}_late_${randomBytes(3).toString('hex')}`;
    created.push(name);
    const target = new URL(TEST_DATABASE_URL);
    let server: Server | undefined;
    const sockets: Array<{ destroy(): void }> = [];
    const later = setTimeout(() => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        sockets.push(client, upstream);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      }).listen(port, '127.0.0.1');
    }, 700);
    try {
      await expect(ensureDatabaseExists(at(databaseUrl(name), port), { waitMs: 20_000, pollMs: 100 })).resolves.toBeUndefined();
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [name]);
      expect(rows[0].n).toBe(1);
    } finally {
      clearTimeout(later);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    }
  });
});
