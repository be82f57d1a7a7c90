import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';

export const ROLES = ['api', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toNumber = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * The largest MAX_BODY_BYTES: a body is held whole in memory as one string and parsed at once, and
 * PostgreSQL keeps a jsonb value under 255 MB; far past this a body overflows Node's longest string
 * (about 512 MiB) inside the body reader, which ends the process instead of answering 413.
 */
export const MAX_BODY_BYTES_CEILING = 64 * 1024 * 1024;

/**
 * The shortest timeout, in ms, that a `0 = never` timeout accepts: below a second nothing the service
 * does fits, so such a value is a number of seconds written where milliseconds are read (30 for 30 s).
 */
export const MIN_TIMEOUT_MS = 1000;

const zeroOrAtLeastOneSecond = () =>
  ValidateBy({
    name: 'zeroOrAtLeastOneSecond',
    validator: {
      validate: (value: unknown) => typeof value !== 'number' || value <= 0 || value >= MIN_TIMEOUT_MS,
      defaultMessage: () => `must be 0 (never) or at least ${MIN_TIMEOUT_MS}: the value is in milliseconds, not seconds`,
    },
  });

/**
 * Every environment variable draconic reads (DESIGN §8), with its default.
 * `loadConfig()` is the only reader of process.env; nothing else may touch it.
 */
export class EnvSchema {
  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 8000;

  @IsIn(ROLES)
  ROLE: Role = 'all';

  /** Empty = embedded (DESIGN §9). */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string = undefined;

  /** Empty = embedded (DESIGN §9). */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// (TLS) URL' })
  REDIS_URL?: string = undefined;

  @Transform(toInt) @IsInt() @Min(1) @Max(10000)
  MAX_CONCURRENT_JOBS = 10;

  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MAX_CPU_UNITS = 8;

  @Transform(toInt) @IsInt() @Min(1) @Max(100_000_000)
  MAX_MEMORY_MB = 4096;

  @Transform(toInt) @IsInt() @Min(1) @Max(31_536_000)
  DEFAULT_JOB_TIMEOUT = 3600;

  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  MAX_RETRY_ATTEMPTS = 3;

  @Transform(toNumber) @IsNumber() @Min(1) @Max(100)
  RETRY_BACKOFF_MULTIPLIER = 2.0;

  @Transform(toInt) @IsInt() @Min(0) @Max(86_400_000)
  RETRY_INITIAL_DELAY_MS = 1000;

  @Transform(toInt) @IsInt() @Min(0) @Max(2_147_483_647)
  RETRY_MAX_DELAY_MS = 3_600_000;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /** Comma-separated; empty = open. */
  @Transform(emptyToUndefined) @IsOptional() @IsString()
  API_KEYS?: string = undefined;

  @Transform(toInt) @IsInt() @Min(1024)
  @Max(MAX_BODY_BYTES_CEILING, { message: `must not be greater than ${MAX_BODY_BYTES_CEILING} (64 MiB), the largest body the service can hold and store safely` })
  MAX_BODY_BYTES = 1_048_576;

  @Transform(toInt) @IsInt() @Min(50) @Max(600_000)
  HEARTBEAT_INTERVAL_MS = 2000;

  @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  WORKER_LOST_SECONDS = 15;

  @Transform(toInt) @IsInt() @Min(1) @Max(31_536_000)
  STARVATION_SECONDS = 300;

  @IsString()
  EXPORT_DIR = './data/exports';

  @IsString()
  MAIL_OUTBOX_DIR = './data/outbox';

  @Transform(emptyToUndefined) @IsOptional() @Matches(/^smtps?:\/\/.+/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string = undefined;

  @Transform(toBool) @IsBoolean()
  DATA_FETCH_ALLOW_PRIVATE = false;

  /** Seconds after which the leader deletes a completed job (DESIGN §13); 0 = keep forever. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_153_600_000)
  RETENTION_COMPLETED_SECONDS = 604_800;

  /** Seconds after which the leader deletes a failed, timed out or cancelled job; 0 = keep forever. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_153_600_000)
  RETENTION_FAILED_SECONDS = 2_592_000;

  /** How often the leader looks for jobs past their retention (beyond DESIGN §8). */
  @Transform(toInt) @IsInt() @Min(100) @Max(86_400_000)
  RETENTION_INTERVAL_MS = 60_000;

  /** Jobs deleted per retention batch, each batch its own short transaction (at most 1,000). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  RETENTION_BATCH_SIZE = 25;

  /** The shortest pause between two retention batches. */
  @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  RETENTION_PAUSE_MS = 10;

  /** The most of the time retention's batches take (percent): after a batch of t ms it pauses t × (100 − p) / p. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100)
  RETENTION_BUSY_PERCENT = 20;

  /** Seconds a stopped or lost worker stays in GET /workers before the leader forgets it; 0 = keep forever. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_153_600_000)
  WORKER_RETENTION_SECONDS = 86_400;

  // ---- beyond DESIGN §8 (documented in .env.example and docs/operations.md) ----

  /** Create the database if missing and run pending migrations at boot (every role; workers normally set false). */
  @Transform(toBool) @IsBoolean()
  RUN_MIGRATIONS = true;

  /** Prefix of every Redis key and channel draconic uses (Bull queues, event channel). */
  @Matches(/^[A-Za-z0-9:_-]{1,100}$/, { message: 'must be 1-100 characters of A-Z a-z 0-9 : _ -' })
  REDIS_PREFIX = 'draconic';

  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MAX_BATCH_JOBS = 10_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  MAX_DEPENDENCIES_PER_JOB = 1000;

  @Transform(toInt) @IsInt() @Min(1) @Max(200)
  DB_POOL_SIZE = 10;

  /** Embedded mode's data folder (DESIGN §9). */
  @IsString()
  DATA_DIR = './data';

  /** A stable worker id; default `<host>-<pid>-<random>`. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^[A-Za-z0-9._:-]{1,100}$/, { message: 'must be 1-100 characters of A-Z a-z 0-9 . _ : -' })
  WORKER_ID?: string = undefined;

  /** How long a stopping worker lets running jobs finish before releasing them. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000)
  SHUTDOWN_GRACE_MS = 10_000;

  // ---- the HTTP door (README "Security") ----

  /** A request (headers and body) must arrive within this long, else 408. */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  REQUEST_TIMEOUT_MS = 30_000;

  /** A connection with no traffic for this long is closed (0 = never). */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000)
  CONNECTION_TIMEOUT_MS = 120_000;

  /** How long an idle keep-alive connection stays open between requests. */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  KEEP_ALIVE_TIMEOUT_MS = 72_000;

  /**
   * Requests per RATE_LIMIT_WINDOW_MS per API key (per address without one); 0 = no limit. 10,000 per 10 s
   * is 1,000 a second: a producer submitting jobs one request at a time, or a client polling a job every
   * few milliseconds, stays under it; a flood from one client at the service's full rate does not.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(100_000_000)
  RATE_LIMIT_MAX = 10_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(86_400_000)
  RATE_LIMIT_WINDOW_MS = 10_000;

  /**
   * Live-updates (Socket.IO) connections open at once from one address, past which a handshake is
   * refused; 0 = no limit. Each holds memory (its subscriptions, what is queued for it) and costs every
   * event's fan-out: one client opening connections in a loop must not hold the process's memory.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(1_000_000)
  MAX_STREAM_CONNECTIONS_PER_ADDRESS = 200;

  /** Submissions (POST /jobs, POST /jobs/batch) being handled at once past which a submit gets 503 at once. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MAX_SUBMITS_IN_FLIGHT = 256;

  /** Comma-separated origins allowed to call the API and the Socket.IO stream from a browser (`*` = any); empty = same origin only. */
  @Transform(emptyToUndefined) @IsOptional() @IsString()
  CORS_ORIGINS?: string = undefined;

  // ---- availability (docs/operations.md, "Health and unavailable dependencies") ----

  /** ROLE=api and all: longest wait for a PostgreSQL connection (a new one, or a free one of the pool) before the request gets 503. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  DB_CONNECT_TIMEOUT_MS = 3000;

  /**
   * PostgreSQL ends a session of the service left idle inside a transaction this long (its
   * idle_in_transaction_session_timeout; 0 = never): a process frozen mid-transaction stops holding its row locks.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) @zeroOrAtLeastOneSecond()
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = 10000;

  /**
   * A statement PostgreSQL has not answered within this long has its connection closed (0 = never): it fails
   * as on a lost connection and the pool opens a new one. A connection that stopped carrying bytes without
   * closing (a database host gone, a NAT or firewall that forgot it) would otherwise hold its caller forever.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) @zeroOrAtLeastOneSecond()
  DB_QUERY_TIMEOUT_MS = 30000;

  /**
   * A Redis connection that has received nothing this long after a command was sent is closed and opened
   * again (0 = never); ioredis's `socketTimeout`. Bull's blocking reads wait their own 5 s on top of it.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) @zeroOrAtLeastOneSecond()
  REDIS_SOCKET_TIMEOUT_MS = 15000;

  /** How often the API checks that PostgreSQL and Redis answer (the state /health and request admission read). */
  @Transform(toInt) @IsInt() @Min(100) @Max(60_000)
  HEALTH_PROBE_INTERVAL_MS = 500;

  /** A check not answered within this long counts as down. */
  @Transform(toInt) @IsInt() @Min(50) @Max(60_000)
  HEALTH_PROBE_TIMEOUT_MS = 800;

  /** ROLE=worker only: serve GET /metrics and GET /health on this port (unset = no HTTP). */
  @Transform(({ value }) => toInt({ value: emptyToUndefined({ value }) })) @IsOptional() @IsInt() @Min(1) @Max(65535)
  METRICS_PORT?: number = undefined;
}
