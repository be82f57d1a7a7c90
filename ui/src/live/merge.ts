/** Pure helpers of the live view: no DOM, no React. */
import type { JobUpdate } from '../api/types.js';

/**
 * A job's events merged with more (live or replayed after a reconnect): ordered by sequence, each
 * once; the same array when nothing is new (so React skips the render).
 */
export function mergeEvents(events: JobUpdate[], more: readonly JobUpdate[]): JobUpdate[] {
  if (more.length === 0) return events;
  const bySequence = new Map(events.map((e) => [e.data.sequence, e]));
  let added = false;
  for (const e of more) {
    if (!bySequence.has(e.data.sequence)) {
      bySequence.set(e.data.sequence, e);
      added = true;
    }
  }
  return added ? [...bySequence.values()].sort((a, b) => a.data.sequence - b.data.sequence) : events;
}
