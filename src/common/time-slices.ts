/** Long loops over request data in slices of event-loop time, so one big request never stalls the others. */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Work done between two yields to the event loop: well under the ~50 ms any request may hold it. */
export const SLICE_MS = 8;

/**
 * Maps `items` in order, yielding to the event loop whenever a slice has run SLICE_MS: other
 * requests (and /health) are served in between. `fn` may throw to stop early.
 */
export async function mapInSlices<T, R>(items: readonly T[], fn: (item: T, index: number) => R, sliceMs = SLICE_MS): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let sliceStart = performance.now();
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!, i);
    if (performance.now() - sliceStart >= sliceMs && i + 1 < items.length) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return out;
}

/**
 * `{"<key>":[...]}` written item by item (`toJson`: one item's JSON text) in slices of event-loop time:
 * a 10,000-job response is megabytes of JSON, which one JSON.stringify would write in a single stretch.
 */
export async function serializeListInSlices<T>(key: string, items: readonly T[], toJson: (item: T) => string): Promise<string> {
  const parts = await mapInSlices(items, toJson);
  return `{${JSON.stringify(key)}:[${parts.join(',')}]}`;
}
