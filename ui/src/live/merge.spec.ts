import { describe, expect, it } from '@jest/globals';
import type { JobUpdate } from '../api/types.js';
import { mergeEvents } from './merge.js';

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
