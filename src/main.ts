import { Logger, type INestApplicationContext } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createHttpApp, createWorkerContext } from './bootstrap.js';
import { createAppLogger } from './common/logging/app-logger.js';
import { bootBanner } from './common/logging/boot-banner.js';
import { ConfigError, envFileLoaded, loadConfig } from './config/load-config.js';
import { DataDirInUseError, DataDirUnusableError } from './database/embedded-postgres.js';
import { assertRedisDatabase } from './redis/redis-database-check.js';
import { AnotherProcessOnDatabaseError } from './leadership/single-process-leadership.js';
import { outputDirProblems } from './executor/handlers/export-files.js';
import { assertPortFree, PortUnavailableError, portUnavailable } from './common/http/port-check.js';
import { prepareRuntime } from './runtime.js';
import { WorkerIdInUseError } from './executor/worker-id-claim.js';

/** How long a shutdown may go on past SHUTDOWN_GRACE_MS before the process exits regardless. */
const SHUTDOWN_HARD_SLACK_MS = 20_000;

async function main(): Promise<void> {
  const given = loadConfig();
  const logger = createAppLogger(given);
  Logger.overrideLogger(logger);
  if (given.redisUrl) await assertRedisDatabase(given.redisUrl);
  if (given.role !== 'api') {
    const dirs = [{ variable: 'EXPORT_DIR', dir: given.exportDir }, ...(given.smtpUrl ? [] : [{ variable: 'MAIL_OUTBOX_DIR', dir: given.mailOutboxDir }])];
    const problems = outputDirProblems(dirs);
    if (problems.length > 0) throw new ConfigError(problems);
  }
  const servesHttp = given.role !== 'worker';
  // Before the embedded database starts (seconds): a taken port is the commonest first-boot mistake.
  if (servesHttp) await assertPortFree(given.port);
  else if (given.metricsPort !== undefined) await assertPortFree(given.metricsPort, 'METRICS_PORT');
  const runtime = await prepareRuntime(given);
  const { config } = runtime;
  let app: INestApplicationContext;
  let port: number | undefined;
  if (!servesHttp) {
    app = await createWorkerContext(config, logger);
  } else {
    const http = await createHttpApp(config, logger);
    try {
      await http.listen({ port: config.port, host: '0.0.0.0' });
    } catch (error) {
      await http.close().catch(() => undefined);
      await runtime.stop();
      throw portUnavailable(error, config.port);
    }
    port = (http.getHttpServer().address() as AddressInfo).port;
    app = http;
  }
  if (config.logLevel !== 'silent') {
    const banner = bootBanner({
      config,
      deployment: runtime.deployment,
      embeddedDataDir: runtime.embeddedDataDir,
      envFile: envFileLoaded(),
      port,
      tty: Boolean(process.stdout.isTTY),
    });
    process.stdout.write(`${banner.join('\n')}\n`);
  }
  // Graceful shutdown: workers drain (SHUTDOWN_GRACE_MS), then the embedded database closes cleanly.
  // A shutdown that has not ended SHUTDOWN_HARD_SLACK_MS after the grace (a step waiting on a dependency
  // that stopped answering) ends the process anyway: a stop signal always stops it.
  // A repeated signal is expected, not an emergency: npm forwards the SIGINT or SIGTERM that the
  // terminal or systemd (KillMode=control-group) also sends node directly, so every stop may come
  // twice. `process.on`, not `once`: after a `once` listener Node's default action (an immediate exit)
  // would take the second one, cutting the drain short.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      new Logger('Main').log(`${signal} again: the shutdown under way goes on (it ends within ${(config.shutdownGraceMs + SHUTDOWN_HARD_SLACK_MS) / 1000} s)`);
      return;
    }
    stopping = true;
    new Logger('Main').log(`${signal}: shutting down`);
    const deadlineMs = config.shutdownGraceMs + SHUTDOWN_HARD_SLACK_MS;
    setTimeout(() => {
      new Logger('Main').error({ deadlineMs }, `shutdown did not end within ${deadlineMs / 1000} s (SHUTDOWN_GRACE_MS and ${SHUTDOWN_HARD_SLACK_MS / 1000} s more): exiting now`);
      process.exit(1);
    }, deadlineMs).unref();
    void app
      .close()
      .catch((error: unknown) => new Logger('Main').error({ err: error }, 'shutdown failed'))
      .then(() => runtime.stop())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  if (
    error instanceof ConfigError ||
    error instanceof DataDirInUseError ||
    error instanceof DataDirUnusableError ||
    error instanceof PortUnavailableError ||
    error instanceof AnotherProcessOnDatabaseError ||
    error instanceof WorkerIdInUseError
  ) {
    process.stderr.write(`draconic: ${error.message}\n`);
  } else {
    process.stderr.write(`draconic: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
