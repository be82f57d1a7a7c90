import { resolve } from 'node:path';
import { DEFAULT_CPU_UNITS, DEFAULT_MEMORY_MB } from '../domain/resource-defaults.js';
import type { AppConfig } from '../../config/app-config.js';
import type { Deployment } from '../../config/deployment.js';

/** What a process knows once it is up, and what a person starting it wants to see first. */
export interface BootFacts {
  config: AppConfig;
  deployment: Deployment;
  /** PGlite's folder when the database is embedded. */
  embeddedDataDir?: string;
  /** The `.env` file that was read (absolute path), or null when there was none. */
  envFile: string | null;
  /** The port the HTTP server listens on (api and all; PORT=0 picks one). */
  port?: number;
  /** Whether stdout is a terminal: only then is the title bold. */
  tty: boolean;
}

/** A URL without its user, password or query: where a service is, never how to log into it. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * The short text a process prints once it is up, in place of the framework's boot lines: the mode,
 * where to go, where the data lives, which settings file was read, and any risky setting.
 */
export function bootBanner(facts: BootFacts): string[] {
  const { config, deployment } = facts;
  const embedded = deployment.database === 'embedded' || deployment.messaging === 'in-process';
  // Each half named as it runs: only REDIS_URL set is PGlite with Redis, only DATABASE_URL set PostgreSQL with an in-process queue.
  const database = deployment.database === 'embedded' ? 'PGlite' : 'PostgreSQL';
  const mode =
    deployment.database === 'embedded' && deployment.messaging === 'in-process'
      ? 'embedded mode (PGlite, in-process queue)'
      : embedded
        ? `embedded mode (${database}, ${deployment.messaging === 'redis' ? 'Redis' : 'in-process queue'})`
        : 'PostgreSQL and Redis';
  const title = `draconic: ROLE=${config.role}, ${mode}, pid ${process.pid}`;
  const lines = [facts.tty ? `\u001b[1m${title}\u001b[0m` : title];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(13)} ${text}`);

  if (facts.port !== undefined) {
    const base = `http://localhost:${facts.port}`;
    row('listening on', `${base} (every interface, PORT=${facts.port})`);
    row('API docs', `${base}/docs`);
    row('dashboard', `${base}/ui/`);
    row('live updates', `Socket.IO ${base}/jobs/stream`);
  } else {
    row('HTTP', config.metricsPort === undefined ? 'none (a worker opens no port)' : `/metrics and /health on port ${config.metricsPort}`);
  }
  if (config.role !== 'api') {
    row('worker', `${config.maxConcurrentJobs} slots, ${config.maxCpuUnits} cpu units, ${config.maxMemoryMb} MB`);
  }
  row(
    'database',
    deployment.database === 'embedded' ? `PGlite in ${facts.embeddedDataDir ?? resolve(config.dataDir, 'pgdata')}` : withoutCredentials(config.databaseUrl ?? ''),
  );
  row('queue', deployment.messaging === 'redis' ? `Redis ${withoutCredentials(config.redisUrl ?? '')}, prefix ${config.redisPrefix}` : 'in-process');
  if (config.role !== 'api') {
    const mail = config.smtpUrl ? `mail through ${withoutCredentials(config.smtpUrl)}` : `mail to ${resolve(config.mailOutboxDir)} (no SMTP_URL)`;
    row('files', `exports in ${resolve(config.exportDir)}, ${mail}`);
  }
  row('settings', facts.envFile ? `${facts.envFile} (variables set in the environment win)` : 'environment only (no ./.env)');

  const warnings: string[] = [];
  if (embedded) {
    warnings.push(
      'EMBEDDED MODE: one process only (ROLE=all). For production set ' +
        'DATABASE_URL=postgres://user@host:5432/draconic and REDIS_URL=redis://host:6379/0 (see the README).',
    );
  }
  if (facts.port !== undefined && config.apiKeys.length === 0) {
    warnings.push(`API_KEYS is empty: anyone who can reach port ${facts.port} may submit, cancel and delete jobs (see Security in the README).`);
  }
  if (config.role !== 'worker' && (config.maxMemoryMb < DEFAULT_MEMORY_MB || config.maxCpuUnits < DEFAULT_CPU_UNITS)) {
    warnings.push(
      `MAX_CPU_UNITS=${config.maxCpuUnits}, MAX_MEMORY_MB=${config.maxMemoryMb} is below what a job asks for by default ` +
        `(${DEFAULT_CPU_UNITS} cpu unit, ${DEFAULT_MEMORY_MB} MB): a job that sets no resource_requirements is refused with 400 EXCEEDS_WORKER_LIMITS.`,
    );
  }
  if (config.dataFetchAllowPrivate && config.role !== 'api') {
    warnings.push('DATA_FETCH_ALLOW_PRIVATE=true: data_fetch jobs may reach private, loopback and link-local addresses.');
  }
  for (const warning of warnings) lines.push(`  ! ${warning}`);
  lines.push(`  stop with Ctrl-C or SIGTERM${config.role === 'api' ? '' : `: running jobs get ${config.shutdownGraceMs / 1000} s (SHUTDOWN_GRACE_MS) to finish`}`);
  return lines;
}
