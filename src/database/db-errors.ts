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

/** Whether a failed statement names bad data or a mistake rather than an unavailable database: the opposite of the above. Pure. */
export const isPermanentDbError = (error: unknown): boolean => !isTransientDbError(error);

/** Whether a transaction lost to another one (deadlock or serialization failure) and may simply run again. Pure. */
export function isLostRace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * Runs a transaction again when it lost a deadlock or a serialization race to a concurrent transition
 * (PostgreSQL rolled it back whole, so running it again is safe), at most `tries` times in all.
 */
export async function retryLostRaces<T>(run: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (isLostRace(error) && attempt < tries) continue;
      throw error;
    }
  }
}
