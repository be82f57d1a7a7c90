import { describe, expect, it } from '@jest/globals';
import type { JobUpdate } from '../api/types.js';
import { EVENTS_KEPT, latestStatus, mergeEvents } from './merge.js';

const update = (sequence: number, event: JobUpdate['event']): JobUpdate => ({
  type: 'job_update',
  event,
  job_id: 'j',
  data: { job_id: 'j', type: 'noop', priority: 'normal', status: 'x', attempt: 1, sequence, timestamp: '2026-01-15T10:00:00.000Z' },
});

describe('merging live and replayed events', () => {
  it('orders by sequence and keeps each event once, whichever way it arrived', () => {
    const live = [update(1, 'job_created'), update(4, 'job_completed')];
    const replayed = [update(2, 'job_ready'), update(3, 'job_started'), update(4, 'job_completed')];
    expect(mergeEvents(live, replayed).map((e) => e.data.sequence)).toEqual([1, 2, 3, 4]);
  });

  it('returns the same list when nothing is new', () => {
    const events = [update(1, 'job_created')];
    expect(mergeEvents(events, [update(1, 'job_created')])).toBe(events);
    expect(mergeEvents(events, [])).toBe(events);
  });
});

describe('keeping a job page bounded', () => {
  it('keeps the latest events only, appending those in order and merging those that are not', () => {
    let events: JobUpdate[] = [];
    for (let i = 1; i <= 50; i++) events = mergeEvents(events, [update(i, 'job_progress')], 10);
    expect(events.map((e) => e.data.sequence)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
    // A late event older than what is kept changes nothing that is shown; one inside the window is placed.
    const withGap = mergeEvents([update(1, 'job_created'), update(3, 'job_started')], [update(4, 'job_completed'), update(2, 'job_ready')], 3);
    expect(withGap.map((e) => e.data.sequence)).toEqual([2, 3, 4]);
  });

  it('merges 100,000 events into at most the kept number', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => update(i + 1, 'job_progress'));
    expect(mergeEvents([], many).length).toBe(EVENTS_KEPT);
    expect(mergeEvents([], many).at(-1)!.data.sequence).toBe(100_000);
  });
});

describe('the status a job shows', () => {
  const at = (sequence: number, event: JobUpdate['event'], status: string): JobUpdate => ({ ...update(sequence, event), data: { ...update(sequence, event).data, status } });

  it('is that of its latest event by sequence: a late event does not set it back', () => {
    expect(latestStatus(0, [at(3, 'job_completed', 'completed'), at(2, 'job_ready', 'ready')])).toEqual({ sequence: 3, status: 'completed' });
    expect(latestStatus(3, [at(1, 'job_created', 'pending')])).toBeNull();
    expect(latestStatus(3, [at(4, 'job_progress', 'running')])).toBeNull();
    expect(latestStatus(3, [at(5, 'job_retry_scheduled', 'pending'), at(4, 'job_failed', 'failed')])).toEqual({ sequence: 5, status: 'pending' });
  });
});
