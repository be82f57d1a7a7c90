export class TimeoutError extends Error {}

/**
 * `promise`, or a TimeoutError after `ms`. The deadline is judged fairly on a busy event loop: when
 * it passes, I/O that has already arrived is read first (an answer may be waiting in its socket
 * behind other requests' work), and when the timer itself fired late by more than half of `ms` (the
 * process, not the dependency, is slow) the check gets one more `ms`. An overloaded API then does
 * not report its dependencies down, and refuse every request for it.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let extended = false;
    let timer: NodeJS.Timeout;
    const arm = () => {
      const due = performance.now() + ms;
      timer = setTimeout(() => {
        const firedLateMs = performance.now() - due;
        setImmediate(() => {
          if (settled) return;
          if (firedLateMs > ms / 2 && !extended) {
            extended = true;
            arm();
            return;
          }
          settled = true;
          reject(new TimeoutError(`${what} did not answer within ${ms} ms`));
        });
      }, ms);
    };
    arm();
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
