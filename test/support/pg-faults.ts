import pg from 'pg';
import type { TestSpace } from './test-app.js';
import { TEST_DATABASE_URL } from './test-env.js';

/**
 * Faults injected into PostgreSQL for one test space only: its own database's backends are
 * terminated, never another database's (other runs share this server). The admin connection lives
 * in the `postgres` database, so it never terminates itself.
 */
export class PgFaults {
  private constructor(
    private readonly admin: pg.Client,
    readonly database: string,
  ) {}

  static async for(space: TestSpace): Promise<PgFaults> {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, application_name: 'draconic-test-faults' });
    admin.on('error', () => undefined);
    await admin.connect();
    return new PgFaults(admin, decodeURIComponent(new URL(space.databaseUrl).pathname.slice(1)));
  }

  /** Terminates the space's backends (all of them, or those whose application_name matches). Returns how many. */
  async terminate(applicationName?: string): Promise<number> {
    const { rows } = await this.admin.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> 'draconic-test-faults'
         AND ($2::text IS NULL OR application_name = $2)`,
      [this.database, applicationName ?? null],
    );
    return rows[0]?.n ?? 0;
  }

  /** Terminates the space's backends every `everyMs` for `forMs`. Returns how many were terminated in all. */
  async storm(forMs: number, everyMs = 10): Promise<number> {
    const until = Date.now() + forMs;
    let terminated = 0;
    while (Date.now() < until) {
      terminated += await this.terminate();
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    return terminated;
  }

  /**
   * PostgreSQL out of reach for the space's processes for `forMs`: the database refuses new connections
   * (`ALLOW_CONNECTIONS false`, which holds for superusers too) and its sessions are terminated, as in a
   * server restart or a failover that takes a while. Returns how many sessions were terminated.
   */
  async refuse(forMs: number): Promise<number> {
    const name = `"${this.database.replaceAll('"', '""')}"`;
    await this.admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    try {
      const terminated = await this.terminate();
      await new Promise((resolve) => setTimeout(resolve, forMs));
      return terminated + (await this.terminate());
    } finally {
      await this.admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
    }
  }

  /** Whether any session is connected to a database of test run `run` (a run killed without its teardown has none). */
  async runIsConnected(run: string): Promise<boolean> {
    const { rows } = await this.admin.query<{ connected: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE starts_with(datname, $1)) AS connected`,
      [`draconic_test_${run}_`],
    );
    return rows[0]?.connected ?? true;
  }

  /** Runs a read on the space's database through the admin server connection's credentials. */
  async query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${this.database}`;
    const client = new pg.Client({ connectionString: url.toString(), application_name: 'draconic-test-faults' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<T>(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    await this.admin.end().catch(() => undefined);
  }
}
