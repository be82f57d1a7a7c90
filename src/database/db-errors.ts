/**
 * Whether a failed statement may succeed when sent again. PostgreSQL names its errors by SQLSTATE:
 * these classes say the statement itself can never succeed as written (bad data, a violated
 * constraint, a mistake in the SQL). Everything else — a connection terminated or refused, a server
 * shutting down or out of resources, a serialization failure, an error from the driver with no
 * SQLSTATE — passes with time. Pure.
 */
const PERMANENT_CLASSES = new Set(['21', '22', '23', '2B', '2D', '2F', '3F', '42', '44', 'P0']);

export function isTransientDbError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return !PERMANENT_CLASSES.has(code.slice(0, 2));
}
