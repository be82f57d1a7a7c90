import { Logger } from '@nestjs/common';
import { createHttpApp, createWorkerContext } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/load-config.js';
import { ensureDatabaseExists, runMigrations } from './database/prepare-database.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl || !config.redisUrl) {
    throw new ConfigError([
      `${!config.databaseUrl ? 'DATABASE_URL' : 'REDIS_URL'} is empty: the embedded mode (DESIGN §9) is not available yet; ` +
        'set DATABASE_URL=postgres://postgres@127.0.0.1:5432/draconic and REDIS_URL=redis://127.0.0.1:6379/0 (see .env.example)',
    ]);
  }
  if (config.runMigrations) {
    await ensureDatabaseExists(config.databaseUrl);
    await runMigrations(config);
  }
  if (config.role === 'worker') {
    await createWorkerContext(config);
    new Logger('Main').log(`draconic worker started (pid ${process.pid})`);
    return;
  }
  const app = await createHttpApp(config);
  await app.listen({ port: config.port, host: '0.0.0.0' });
  new Logger('Main').log(`draconic ${config.role} listening on http://localhost:${config.port} (Swagger UI at /docs)`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`draconic: ${error.message}\n`);
  } else {
    process.stderr.write(`draconic: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
