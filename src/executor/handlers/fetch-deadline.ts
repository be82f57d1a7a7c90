import type { Dispatcher } from 'undici';
import { discard } from './fetch-body.js';

/**
 * The job's own signal, or timeout_ms passing, whichever comes first. Held by the handler until
 * `clear()`: `AbortSignal.any([..., AbortSignal.timeout()])` lost its timeout to a garbage
 * collection on Node 20, and a fetch then ran on past timeout_ms for as long as the server kept it.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCancel = () => this.controller.abort(this.job.reason);
  passed = false;

  constructor(
    private readonly job: AbortSignal,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => {
      if (this.controller.signal.aborted) return;
      this.passed = true;
      this.controller.abort(new Error(`timeout_ms (${timeoutMs} ms) passed`));
    }, timeoutMs);
    if (job.aborted) this.onCancel();
    else job.addEventListener('abort', this.onCancel, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.job.removeEventListener('abort', this.onCancel);
  }
}

/**
 * The response, or the signal's reason as soon as it aborts. undici does not end a request that is still
 * connecting when its signal aborts (a TLS handshake that never answers waits for its 10 s connect
 * timeout): the attempt ends at the deadline, and a response that comes later has its body destroyed.
 */
export function settledBy(signal: AbortSignal, pending: Promise<Dispatcher.ResponseData>): Promise<Dispatcher.ResponseData> {
  const dropLate = (): void => void pending.then((late) => discard(late.body), () => undefined);
  if (signal.aborted) {
    dropLate();
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    // Once aborted, the promise is settled: a response arriving later is dropped, never resolved.
    const onAbort = () => {
      dropLate();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        resolve(response);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
