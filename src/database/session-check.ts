import { Logger } from '@nestjs/common';
import pg from 'pg';
import { withoutCredentials } from '../common/logging/boot-banner.js';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/load-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { connectBootClient } from './prepare-database.js';

const logger = new Logger('Database');
const POOLERS = 'see "Connection poolers" in docs/operations.md';

/**
 * Checks at boot that DATABASE_URL gives each connection a PostgreSQL session of its own, as the
 * service needs: its statements are prepared by name per session, the scheduler's election holds a
 * session-level advisory lock, and the timeouts are session settings sent at connect. A pooler handing
 * out server sessions per transaction (PgBouncer's transaction mode, a transaction pooling port) breaks
 * all three: most requests would answer 500, finished jobs would be stored as failed, and two leaders
 * would alternate. So the boot stops with a line saying so.
 *
 * Detection: connection A reads its backend, connection B takes a server session in an open
 * transaction, and A reads its backend again. With sessions of its own A reads the same backend twice;
 * behind a transaction pooler its second statement cannot land on the session B holds, and lands on
 * another. A pooler that refuses the connection settings (`unsupported startup parameter: options`) is
 * named too, and settings it dropped silently (`ignore_startup_parameters`) are logged at warn.
 */
export async function checkSessions(config: AppConfig): Promise<void> {
  const url = config.databaseUrl;
  if (config.databaseEmbedded || !url) return;
  try {
    await check(config, url);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // PostgreSQL away at this moment: the boot goes on, and its own waits and errors say so.
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not check that DATABASE_URL gives sessions of their own (connection poolers); going on');
  }
}

async function check(config: AppConfig, url: string): Promise<void> {
  const options = (dataSourceOptions(config).extra as { options?: string } | undefined)?.options;
  const open = async (): Promise<pg.Client> => {
    try {
      return await connectBootClient(url, config.dbConnectTimeoutMs, options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/unsupported startup parameter/i.test(message)) {
        throw new ConfigError([
          `DATABASE_URL (${withoutCredentials(url)}): ${message}: a connection pooler (PgBouncer) refuses the session settings draconic sends at connect; ` +
            `set ignore_startup_parameters = options there, and statement_timeout and idle_in_transaction_session_timeout on the database role instead (${POOLERS})`,
        ]);
      }
      throw error;
    }
  };
  const a = await open();
  let b: pg.Client | undefined;
  try {
    const backend = async (client: pg.Client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const first = await backend(a);
    b = await open();
    await b.query('BEGIN');
    await backend(b);
    const second = await backend(a);
    if (first !== second) {
      throw new ConfigError([
        `DATABASE_URL (${withoutCredentials(url)}): two statements of one connection ran in different PostgreSQL sessions (backends ${first} and ${second}): ` +
          `it goes through a pooler in transaction or statement mode, which draconic cannot run on (prepared statements, the scheduler's session lock); use session pooling or a direct connection (${POOLERS})`,
      ]);
    }
    await warnIfSettingsDropped(a, config, url);
  } finally {
    await b?.query('ROLLBACK').catch(() => undefined);
    await b?.end().catch(() => undefined);
    await a.end().catch(() => undefined);
  }
}

async function warnIfSettingsDropped(client: pg.Client, config: AppConfig, url: string): Promise<void> {
  if (config.dbQueryTimeoutMs <= 0) return;
  const shown = (await client.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout;
  if (shown !== '0') return;
  logger.warn(
    `DATABASE_URL (${withoutCredentials(url)}): statement_timeout is 0 although DB_QUERY_TIMEOUT_MS is ${config.dbQueryTimeoutMs}: the session settings sent at connect were dropped (a pooler's ignore_startup_parameters?). ` +
      `Set them on the database role: ALTER ROLE <role> SET statement_timeout = '${config.dbQueryTimeoutMs}ms', idle_in_transaction_session_timeout = '${config.dbIdleInTransactionTimeoutMs}ms' (${POOLERS})`,
  );
}
