import { join } from 'node:path';
import type { AppConfig } from './config/app-config.js';
import { deploymentOf, type Deployment } from './config/deployment.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './database/embedded-postgres.js';
import { awaitMigratedSchema, ensureDatabaseExists, runMigrations } from './database/prepare-database.js';
import { checkSessions } from './database/session-check.js';

export interface Runtime {
  /** The configuration the app runs with (DATABASE_URL filled in when the database is embedded). */
  config: AppConfig;
  deployment: Deployment;
  /** PGlite's folder when the database is embedded (for the boot banner). */
  embeddedDataDir?: string;
  /** Stops what the runtime started (the embedded database), after the app has closed. */
  stop(): Promise<void>;
}

/**
 * Everything that must exist before the Nest app boots: the embedded database when DATABASE_URL
 * is empty (DESIGN §9), the database itself, and the migrations (with RUN_MIGRATIONS=false, the
 * schema they make, run by another process).
 */
export async function prepareRuntime(config: AppConfig): Promise<Runtime> {
  const deployment = deploymentOf(config);
  let embedded: EmbeddedPostgres | undefined;
  let effective = config;
  if (deployment.database === 'embedded') {
    embedded = await startEmbeddedPostgres(config.dataDir);
    effective = Object.assign(Object.create(Object.getPrototypeOf(config)) as AppConfig, config, {
      databaseUrl: embedded.url,
      dbPoolSize: 1,
      databaseEmbedded: true,
      // The one connection to a database inside this process is never unreachable, only busy: wait for it.
      dbConnectTimeoutMs: 60_000,
    });
  }
  try {
    if (config.runMigrations) {
      if (!embedded) await ensureDatabaseExists(effective.databaseUrl!, { connectTimeoutMs: effective.dbConnectTimeoutMs });
      await checkSessions(effective);
      await runMigrations(effective);
    } else {
      await awaitMigratedSchema(effective);
      await checkSessions(effective);
    }
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return {
    config: effective,
    deployment,
    embeddedDataDir: embedded && join(embedded.dataDir, 'pgdata'),
    stop: async () => embedded?.stop(),
  };
}
