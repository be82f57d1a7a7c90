import type { Dependency } from '../errors/domain-error.js';

/** Socket-level failures: the peer refused, reset or never answered. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve now: class 08 (connection exceptions), class 53
 * (insufficient resources: too many connections, out of memory, disk full), 57014 (a statement
 * cancelled: a statement_timeout, pg_cancel_backend), 57P01-57P03 (terminated by the administrator,
 * crash shutdown, cannot connect now), 25006 (a write reaching a server that is read-only: a standby,
 * a primary demoted during a failover), class 58 (system errors: I/O).
 */
const PG_UNAVAILABLE = /^(08...|53...|57014|57P0[123]|25006|58...)$/;

/** The storage manager's source files: a 42501 raised there is a data file the server may not use (its folder made read-only), not a missing grant. */
const STORAGE_FILES = new Set(['md.c', 'fd.c', 'xlog.c', 'xloginsert.c']);

/** Whether an error's SQLSTATE and source file name a failure of the database's own files (class 58, or 42501 from storage). Pure. */
export function isFileFailure(sqlState: string | undefined, file: string | undefined): boolean {
  if (!sqlState) return false;
  return sqlState.startsWith('58') || (sqlState === '42501' && file !== undefined && STORAGE_FILES.has(file));
}

/** node-postgres and pg-pool messages of a connection that failed or was never obtained. */
const PG_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'is not queryable',
  'Client was closed',
];

/**
 * TypeORM: a transaction's query runner released under it because its connection ended (e.g. the
 * server terminated it between the last statement and COMMIT). Nothing was committed.
 */
const PG_NAMES = new Set(['QueryRunnerAlreadyReleasedError']);

/** ioredis: a command given up after its reconnection attempts, or sent on a closed connection. */
const REDIS_NAMES = new Set(['MaxRetriesPerRequestError']);
const REDIS_MESSAGES = ['Connection is closed', "Stream isn't writeable", 'Reached the max retries per request limit'];

/**
 * Whether a transaction lost to another one (deadlock or serialization failure), so that running it
 * again may succeed. Pure.
 */
export function isLostRace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * A statement given up on for its time: cancelled by the server's `statement_timeout` (57014), or by
 * the client's query timeout (node-postgres' "Query read timeout"). Transient, but a statement that
 * did too much for its time fails the same way when it is sent again as it was. Pure.
 */
export function isOverTime(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '57014' || e?.driverError?.code === '57014' || e?.message === 'Query read timeout';
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  driverError?: unknown;
  errors?: unknown;
}

function messageOf(error: ErrorLike): string {
  return typeof error.message === 'string' ? error.message : '';
}

/**
 * Which dependency an error says is unavailable, or null when it says something else (a bad
 * statement, a bug). Errors that leave a request handler unclassified would be 500s; these are
 * 503s with Retry-After (the request may succeed as soon as the dependency is back). Pure.
 */
export function unavailableDependencyOf(error: unknown): Dependency | null {
  if (typeof error !== 'object' || error === null) return null;
  const e = error as ErrorLike;
  const message = messageOf(e);
  if ((typeof e.name === 'string' && REDIS_NAMES.has(e.name)) || REDIS_MESSAGES.some((m) => message.includes(m))) return 'redis';
  // TypeORM wraps the driver's error (QueryFailedError.driverError).
  if (typeof e.driverError === 'object' && e.driverError !== null) return unavailableDependencyOf(e.driverError) ?? null;
  const code = typeof e.code === 'string' ? e.code : '';
  if (PG_UNAVAILABLE.test(code) || NETWORK_CODES.has(code)) return 'database';
  if (isFileFailure(code, typeof (e as { file?: unknown }).file === 'string' ? (e as { file: string }).file : undefined)) return 'database';
  // 55000 is a broad class (an object not in the state asked for): only its refusal of new connections
  // (ALTER DATABASE ... ALLOW_CONNECTIONS false, a database being dropped or renamed) says unavailable.
  if (code === '55000' && message.includes('not currently accepting connections')) return 'database';
  if (PG_MESSAGES.some((m) => message.includes(m)) || (typeof e.name === 'string' && PG_NAMES.has(e.name))) return 'database';
  // A connect to several addresses fails with an AggregateError of the socket errors.
  if (Array.isArray(e.errors) && e.errors.some((inner) => unavailableDependencyOf(inner) !== null)) return 'database';
  return null;
}
