import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import { parseApiKeys } from './api-keys.js';
import { AppConfig } from './app-config.js';
import { EnvSchema } from './env.schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? `invalid configuration: ${problems[0]}` : `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose values are secrets: a message names them, never shows them. */
const SECRET = new Set(['API_KEYS']);

/** A value of the wrong kind fails its range checks too: it gets one message, which states the range. */
const KIND_CHECKS = ['isInt', 'isNumber', 'isBoolean'] as const;

function describe(error: ValidationError): string {
  const constraints = error.constraints ?? {};
  const value = SECRET.has(error.property) ? '(hidden)' : JSON.stringify(error.value);
  const kind = KIND_CHECKS.find((check) => check in constraints);
  if (kind) return `${error.property}=${value}: ${kindMessage(kind, error.property)}`;
  const reasons = Object.values(constraints).map((m) => m.replace(`${error.property} `, ''));
  return `${error.property}=${value}: ${reasons.join('; ')}`;
}

function kindMessage(kind: (typeof KIND_CHECKS)[number], property: string): string {
  if (kind === 'isBoolean') return 'must be true or false';
  const bound = (name: 'min' | 'max') =>
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvSchema, '', true, false)
      .find((m) => m.propertyName === property && m.name === name)?.constraints?.[0] as number | undefined;
  const [min, max] = [bound('min'), bound('max')];
  const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : '';
  return `must be ${kind === 'isInt' ? 'a whole number' : 'a number'}${range}`;
}

/** The health probe's timeout with the embedded database, unless HEALTH_PROBE_TIMEOUT_MS is set. */
export const EMBEDDED_PROBE_TIMEOUT_MS = 10_000;

/** Validates an environment into an AppConfig. Pure apart from its argument: used by tests with their own env. */
export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const keys = Object.keys(new EnvSchema());
  const plain: Record<string, string> = {};
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined) plain[key] = value;
  }
  const e = plainToInstance(EnvSchema, plain);
  const errors = validateSync(e, { skipMissingProperties: false });
  const apiKeys = parseApiKeys(e.API_KEYS);
  const corsOrigins = parseOrigins(e.CORS_ORIGINS);
  const problems = [...errors.map(describe), ...apiKeys.problems, ...corsOrigins.problems];
  if (errors.length === 0) problems.push(...pairProblems(e));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.assign(new AppConfig(), {
    port: e.PORT,
    role: e.ROLE,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    maxConcurrentJobs: e.MAX_CONCURRENT_JOBS,
    maxCpuUnits: e.MAX_CPU_UNITS,
    maxMemoryMb: e.MAX_MEMORY_MB,
    defaultJobTimeoutSeconds: e.DEFAULT_JOB_TIMEOUT,
    retry: {
      maxAttempts: e.MAX_RETRY_ATTEMPTS,
      backoffMultiplier: e.RETRY_BACKOFF_MULTIPLIER,
      initialDelayMs: e.RETRY_INITIAL_DELAY_MS,
      maxDelayMs: e.RETRY_MAX_DELAY_MS,
    },
    logLevel: e.LOG_LEVEL,
    apiKeys: apiKeys.entries,
    maxBodyBytes: e.MAX_BODY_BYTES,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    workerLostSeconds: e.WORKER_LOST_SECONDS,
    workerRetentionSeconds: e.WORKER_RETENTION_SECONDS,
    starvationSeconds: e.STARVATION_SECONDS,
    exportDir: e.EXPORT_DIR,
    mailOutboxDir: e.MAIL_OUTBOX_DIR,
    smtpUrl: e.SMTP_URL,
    dataFetchAllowPrivate: e.DATA_FETCH_ALLOW_PRIVATE,
    retention: {
      completedSeconds: e.RETENTION_COMPLETED_SECONDS,
      failedSeconds: e.RETENTION_FAILED_SECONDS,
      intervalMs: e.RETENTION_INTERVAL_MS,
      batchSize: e.RETENTION_BATCH_SIZE,
      pauseMs: e.RETENTION_PAUSE_MS,
      busyPercent: e.RETENTION_BUSY_PERCENT,
    },
    runMigrations: e.RUN_MIGRATIONS,
    redisPrefix: e.REDIS_PREFIX,
    maxBatchJobs: e.MAX_BATCH_JOBS,
    maxDependenciesPerJob: e.MAX_DEPENDENCIES_PER_JOB,
    dbPoolSize: e.DB_POOL_SIZE,
    dbConnectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    dbIdleInTransactionTimeoutMs: e.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    dbQueryTimeoutMs: e.DB_QUERY_TIMEOUT_MS,
    redisSocketTimeoutMs: e.REDIS_SOCKET_TIMEOUT_MS,
    healthProbe: {
      intervalMs: e.HEALTH_PROBE_INTERVAL_MS,
      // The embedded database (no DATABASE_URL) runs in this process, one statement at a time: a slow
      // answer means it is busy (a bulk action over 70,000 jobs), not gone, and 800 ms would have the
      // gate answer 503 to every request while it works. Unless set, it gets EMBEDDED_PROBE_TIMEOUT_MS.
      timeoutMs: env.HEALTH_PROBE_TIMEOUT_MS === undefined && !e.DATABASE_URL ? EMBEDDED_PROBE_TIMEOUT_MS : e.HEALTH_PROBE_TIMEOUT_MS,
    },
    dataDir: e.DATA_DIR,
    workerId: e.WORKER_ID,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    metricsPort: e.METRICS_PORT,
    http: {
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: e.CONNECTION_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      rateLimitMax: e.RATE_LIMIT_MAX,
      rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
      maxSubmitsInFlight: e.MAX_SUBMITS_IN_FLIGHT,
      maxStreamConnectionsPerAddress: e.MAX_STREAM_CONNECTIONS_PER_ADDRESS,
      corsOrigins: corsOrigins.origins,
    },
  } satisfies AppConfig);
}

/**
 * Values that are each valid but do not work together. A worker is declared lost after
 * WORKER_LOST_SECONDS without a heartbeat, and a worker fences itself (aborts its running jobs) once no
 * heartbeat was accepted for three quarters of that, its lease (worker-lease.ts). Heartbeats must be at
 * most a quarter of WORKER_LOST_SECONDS apart, so that the lease spans three of them: with fewer, one
 * failed heartbeat (a connection PostgreSQL ended, a beat given up on) lets the lease lapse before the
 * next, and every running job of a healthy worker is aborted and run again.
 */
function pairProblems(e: EnvSchema): string[] {
  const problems: string[] = [];
  if (e.HEARTBEAT_INTERVAL_MS * 4 > e.WORKER_LOST_SECONDS * 1000) {
    problems.push(
      `HEARTBEAT_INTERVAL_MS=${e.HEARTBEAT_INTERVAL_MS}: must be at most a quarter of WORKER_LOST_SECONDS (${e.WORKER_LOST_SECONDS} s), ` +
        `or one failed heartbeat makes a healthy worker abort its running jobs; lower HEARTBEAT_INTERVAL_MS or raise WORKER_LOST_SECONDS`,
    );
  }
  return problems;
}

/** CORS_ORIGINS: `*`, or origins such as `https://dash.example.com` (scheme, host, optional port; no path). */
function parseOrigins(raw: string | undefined): { origins: string[]; problems: string[] } {
  const origins = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const problems = origins
    .filter((o) => o !== '*' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o) && !/^https?:\/\/\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(o))
    .map((o) => `CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port], no path or trailing slash) or *`);
  return { origins, problems };
}

let cached: AppConfig | undefined;
let envFileRead: string | null = null;

/**
 * The one reader of process.env. Loads `./.env` first when it exists (variables already set win),
 * validates once and caches.
 */
export function loadConfig(): AppConfig {
  if (cached) return cached;
  if (existsSync('.env')) {
    process.loadEnvFile('.env');
    envFileRead = resolve('.env');
  }
  cached = parseConfig(process.env);
  return cached;
}

/** The `.env` file loadConfig() read (absolute path), or null when there was none. */
export function envFileLoaded(): string | null {
  return envFileRead;
}
