import { unavailableDependencyOf } from '../common/http/unavailable-errors.js';
import { outcomeRetryDelayMs } from './domain/worker-lease.js';

/** How long a worker's boot waits for PostgreSQL to take its registration. */
export const BOOT_DATABASE_WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A step of a worker's boot, run again while PostgreSQL refuses or drops it (at its connection limit
 * during a rolling deploy, restarting), backing off, until `deadline` (performance.now()): the boot
 * waits for a slot instead of dying on one. Any other error, or the deadline, ends it with the error.
 */
export async function whileDatabaseAway<T>(deadline: number, retrying: (error: unknown) => void, step: () => Promise<T>): Promise<T> {
  for (let failures = 1; ; failures += 1) {
    try {
      return await step();
    } catch (error) {
      const wait = outcomeRetryDelayMs(failures);
      if (unavailableDependencyOf(error) !== 'database' || performance.now() + wait > deadline) throw error;
      retrying(error);
      await sleep(wait);
    }
  }
}

/**
 * A write of a worker's drain, run again after any failure (backing off) until `deadline`; then given up
 * on (`givingUp`), never thrown: one failed statement must not skip the rest of the drain.
 */
export async function writeUntil(
  deadline: number,
  write: () => Promise<unknown>,
  { retrying, givingUp }: { retrying: (error: unknown) => void; givingUp: (error: unknown) => void },
): Promise<void> {
  for (let failures = 1; ; failures += 1) {
    try {
      await write();
      return;
    } catch (error) {
      const wait = outcomeRetryDelayMs(failures);
      if (performance.now() + wait > deadline) return givingUp(error);
      retrying(error);
      await sleep(wait);
    }
  }
}
