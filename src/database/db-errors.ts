import { isFileFailure, isLostRace, isOverTime } from '../common/http/unavailable-errors.js';
import { isStalePreparedResult } from './sql.js';

/**
 * Whether a failed statement may succeed when sent again. PostgreSQL names its errors by SQLSTATE:
 * these classes say the statement itself can never succeed as written (bad data, a violated
 * constraint, a mistake in the SQL). Everything else — a connection terminated or refused, a server
 * shutting down or out of resources, a serialization failure, an error from the driver with no
 * SQLSTATE — passes with time; but for JavaScript's own mistakes (a TypeError from serialising a
 * parameter: a BigInt, a circular object; a RangeError), thrown before anything was sent: the same
 * parameters fail the same way every time, and sending them again would loop forever. Pure.
 */
const PERMANENT_CLASSES = new Set(['21', '22', '23', '2B', '2D', '2F', '3F', '42', '44', 'P0']);
/**
 * Of those classes, the codes that say something of the connection, not of the statement: 42P05 (a
 * prepared statement of that name already exists) comes from a connection whose session was not its
 * own (a pooler handing out server sessions per transaction), and may not recur on the next one. A
 * 42501 raised by the storage manager (isFileFailure) is a data file the server may not use, not a grant.
 */
const TRANSIENT_CODES = new Set(['42P05']);

export function isTransientDbError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return !isProgrammingError(error);
  if (TRANSIENT_CODES.has(code) || isFileFailure(code, (error as { file?: string }).file)) return true;
  return !PERMANENT_CLASSES.has(code.slice(0, 2));
}

/** A mistake of the code or its data, not of the database or the network (these have no SQLSTATE). */
function isProgrammingError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError;
}

/** Whether a failed statement names bad data or a mistake rather than an unavailable database: the opposite of the above. Pure. */
export const isPermanentDbError = (error: unknown): boolean => !isTransientDbError(error);

export { isLostRace, isOverTime };

/** PostgreSQL gave up on a lock after lock_timeout (55P03 lock_not_available), as thrown or wrapped by TypeORM. Pure. */
export function isLockNotAvailable(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '55P03' || e?.driverError?.code === '55P03';
}

/**
 * Thrown by a transaction that found, once it held its locks, that what it had read before taking them
 * changed meanwhile (a concurrent commit it waited for): it is a lost race like a serialization failure,
 * and carries that SQLSTATE so that retryLostRaces runs the transaction again on fresh reads.
 */
export class StaleReadError extends Error {
  readonly code = '40001';
}

/** How many times retryLostRaces runs a transaction again for statements refused as prepared with a stale `*`. */
const STALE_PREPARED_RETRIES = 8;

/**
 * Runs a transaction again when it lost a deadlock or a serialization race to a concurrent transition
 * (PostgreSQL rolled it back whole, so running it again is safe), at most `tries` times in all; and when
 * a statement prepared with `*` was refused because a newer release's migration added a column (Sql.run
 * gave it a new name: the next run prepares it afresh), up to STALE_PREPARED_RETRIES times more.
 */
export async function retryLostRaces<T>(run: () => Promise<T>, tries = 3): Promise<T> {
  let lost = 0;
  let stale = 0;
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (isStalePreparedResult(error) && ++stale <= STALE_PREPARED_RETRIES) continue;
      if (isLostRace(error) && ++lost < tries) continue;
      throw error;
    }
  }
}
