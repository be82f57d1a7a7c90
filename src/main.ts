import { Logger, type INestApplicationContext } from '@nestjs/common';
import { createHttpApp, createWorkerContext } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/load-config.js';
import { DataDirInUseError } from './database/embedded-postgres.js';
import { prepareRuntime } from './runtime.js';

async function main(): Promise<void> {
  const runtime = await prepareRuntime(loadConfig());
  const { config } = runtime;
  let app: INestApplicationContext;
  if (config.role === 'worker') {
    app = await createWorkerContext(config);
    new Logger('Main').log(`draconic worker started (pid ${process.pid})`);
  } else {
    const http = await createHttpApp(config);
    await http.listen({ port: config.port, host: '0.0.0.0' });
    app = http;
    new Logger('Main').log(`draconic ${config.role} listening on http://localhost:${config.port} (Swagger UI at /docs)`);
  }
  // Graceful shutdown: workers drain (SHUTDOWN_GRACE_MS), then the embedded database closes cleanly.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    new Logger('Main').log(`${signal}: shutting down`);
    void app
      .close()
      .catch((error: unknown) => new Logger('Main').error({ err: error }, 'shutdown failed'))
      .then(() => runtime.stop())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) {
    process.stderr.write(`draconic: ${error.message}\n`);
  } else {
    process.stderr.write(`draconic: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
