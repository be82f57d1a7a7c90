import { describe, expect, it } from '@jest/globals';
import { EMPTY, isAll, parseFilter, roomsForSchedule, roomsOf, subscribe, unsubscribe, view, type Filter } from './subscriptions.js';

const S1 = '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e';
const S2 = '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5f';

describe('schedule filters (DESIGN §15)', () => {
  it('reads {schedule_id} as a filter of its own, lower-cased, and refuses a non-UUID', () => {
    expect(parseFilter({ schedule_id: `${S1.toUpperCase()},${S2}` }, { requireOne: true })).toEqual({ jobIds: [], types: [], scheduleIds: [S1, S2] });
    expect(parseFilter({ schedule_id: 'daily-report' }, { requireOne: true })).toEqual({ error: 'schedule_id "daily-report" is not a UUID' });
    expect(parseFilter({ schedule_id: 7 }, { requireOne: true })).toEqual({ error: 'schedule_id must be a string or a list of strings' });
  });

  it('narrows an unfiltered client to the schedule, and unsubscribing it makes the client unfiltered again', () => {
    const filter = parseFilter({ schedule_id: S1 }, { requireOne: true }) as Filter;
    const narrowed = subscribe(EMPTY, filter);
    if ('error' in narrowed) throw new Error(narrowed.error);
    expect(isAll(narrowed)).toBe(false);
    expect(view(narrowed)).toEqual({ all: false, job_ids: [], types: [], schedule_ids: [S1] });
    expect(roomsOf(narrowed)).toEqual([`schedule:${S1}`]);
    const back = unsubscribe(narrowed, filter);
    expect(isAll(back)).toBe(true);
    expect(view(back)).toEqual({ all: true, job_ids: [], types: [] });
    expect(roomsOf(back)).toEqual(['all']);
  });

  it('sends a schedule update to unfiltered clients and to those that named the schedule', () => {
    expect(roomsForSchedule(S1)).toEqual(['all', `schedule:${S1}`]);
  });
});
