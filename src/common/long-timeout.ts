/** setTimeout's longest wait: 2^31 - 1 ms, about 24.8 days. A longer one fires at once (Node's TimeoutOverflowWarning). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Calls `fn` once `ms` have passed, however long that is (a job's timeout may be a year): waits
 * longer than setTimeout's limit are chained timers. `clear` cancels it.
 */
export function setLongTimeout(fn: () => void, ms: number): { clear(): void } {
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX_TIMEOUT_MS ? arm(left - MAX_TIMEOUT_MS) : fn()), Math.min(left, MAX_TIMEOUT_MS));
  };
  arm(Math.max(0, ms));
  return { clear: () => clearTimeout(timer) };
}
