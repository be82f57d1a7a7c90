/** Pure helpers of the live view: no DOM, no React. */
import type { JobUpdate } from '../api/types.js';

/**
 * How many of a job's latest events a page keeps: a job publishing progress in a loop makes a million
 * events in an hour, and a tab kept open on it must not hold (and sort, at every batch) all of them.
 */
export const EVENTS_KEPT = 1_000;

/**
 * A job's events merged with more (live or replayed after a reconnect): ordered by sequence, each
 * once, the latest `keep` of them; the same array when nothing is new (so React skips the render).
 * Events arriving in order, the usual case, are appended without re-sorting what is kept.
 */
export function mergeEvents(events: JobUpdate[], more: readonly JobUpdate[], keep = EVENTS_KEPT): JobUpdate[] {
  if (more.length === 0) return events;
  let last = events.length > 0 ? events[events.length - 1]!.data.sequence : -Infinity;
  let inOrder = true;
  for (const e of more) {
    if (e.data.sequence <= last) {
      inOrder = false;
      break;
    }
    last = e.data.sequence;
  }
  if (inOrder) return keepLatest([...events, ...more], keep);
  const bySequence = new Map(events.map((e) => [e.data.sequence, e]));
  let added = false;
  for (const e of more) {
    if (!bySequence.has(e.data.sequence)) {
      bySequence.set(e.data.sequence, e);
      added = true;
    }
  }
  return added ? keepLatest([...bySequence.values()].sort((a, b) => a.data.sequence - b.data.sequence), keep) : events;
}

const keepLatest = (events: JobUpdate[], keep: number): JobUpdate[] => (events.length > keep ? events.slice(-keep) : events);

/**
 * The status a job shows after a batch of its events: that of the latest event by sequence, not by
 * arrival. The gateway delivers an event it stopped waiting for whenever it comes, so `job_ready` may
 * arrive after the same job's `job_completed`; it must not set the job back. Progress says nothing of
 * the status. Returns null when the batch holds nothing later than `seen` (the highest sequence whose
 * status is shown).
 */
export function latestStatus(seen: number, batch: readonly JobUpdate[]): { sequence: number; status: string } | null {
  let latest: { sequence: number; status: string } | null = null;
  for (const e of batch) {
    if (e.event === 'job_progress' || e.data.sequence <= (latest?.sequence ?? seen)) continue;
    latest = { sequence: e.data.sequence, status: e.data.status };
  }
  return latest;
}
