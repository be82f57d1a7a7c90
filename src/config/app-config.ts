import type { ApiKeyEntry } from './api-keys.js';
import type { LogLevel, Role } from './env.schema.js';

/** The validated configuration, camelCase. Provided by ConfigModule under this class token. */
export class AppConfig {
  port!: number;
  role!: Role;
  databaseUrl?: string;
  redisUrl?: string;
  maxConcurrentJobs!: number;
  maxCpuUnits!: number;
  maxMemoryMb!: number;
  defaultJobTimeoutSeconds!: number;
  retry!: { maxAttempts: number; backoffMultiplier: number; initialDelayMs: number; maxDelayMs: number };
  logLevel!: LogLevel;
  /** Empty = the API is open (every request acts as `anonymous`, with every role). */
  apiKeys!: ApiKeyEntry[];
  maxBodyBytes!: number;
  heartbeatIntervalMs!: number;
  workerLostSeconds!: number;
  /** Seconds a stopped or lost worker is kept (0 = forever), as long as no job holds resources on it. */
  workerRetentionSeconds!: number;
  starvationSeconds!: number;
  exportDir!: string;
  mailOutboxDir!: string;
  smtpUrl?: string;
  dataFetchAllowPrivate!: boolean;
  /** DESIGN §13: seconds a finished job is kept (0 = forever), and how the leader deletes the rest. */
  retention!: { completedSeconds: number; failedSeconds: number; intervalMs: number; batchSize: number; pauseMs: number; busyPercent: number };
  runMigrations!: boolean;
  redisPrefix!: string;
  maxBatchJobs!: number;
  maxDependenciesPerJob!: number;
  dbPoolSize!: number;
  /** Longest wait for a pooled PostgreSQL connection (connect or acquire). */
  dbConnectTimeoutMs!: number;
  /** PostgreSQL ends a session idle inside a transaction this long (0 = never). */
  dbIdleInTransactionTimeoutMs!: number;
  /** A statement not answered within this long has its connection closed (0 = never; never with the embedded database). */
  dbQueryTimeoutMs!: number;
  /** A Redis connection silent this long after a command is closed and opened again (0 = never). */
  redisSocketTimeoutMs!: number;
  /** Set by the runtime, never from the environment: PostgreSQL is PGlite inside this process (DESIGN §9). */
  databaseEmbedded?: boolean;
  /** The background check of PostgreSQL and Redis behind /health and request admission. */
  healthProbe!: { intervalMs: number; timeoutMs: number };
  dataDir!: string;
  workerId?: string;
  shutdownGraceMs!: number;
  http!: {
    requestTimeoutMs: number;
    connectionTimeoutMs: number;
    keepAliveTimeoutMs: number;
    /** Requests per window per key or address; 0 = no limit. */
    rateLimitMax: number;
    rateLimitWindowMs: number;
    maxSubmitsInFlight: number;
    /** Live-updates connections open at once per address; 0 = no limit. */
    maxStreamConnectionsPerAddress: number;
    /** Origins allowed cross-origin (REST and Socket.IO); empty = same origin only; `*` = any. */
    corsOrigins: string[];
  };
  /** ROLE=worker: the port of its /metrics and /health; undefined = none. */
  metricsPort?: number;
}
