import { describe, expect, it } from '@jest/globals';
import { STALE_HAND_OVERS } from './domain/stale-placements.js';
import { LostWorkReaper } from './lost-work-reaper.js';

describe('LostWorkReaper.reconcilePlacements', () => {
  it('does not pass a worker over for hand-overs Redis refused (the dispatch failed)', async () => {
    const stale = [{ id: 'a', workerId: 'w1', type: 'noop', attempts: 0 }];
    let dispatchFails = true;
    const unplaced: string[][] = [];
    const placements = { stalePlacements: async () => stale, touchPlacements: async () => undefined, unplace: async (ids: string[]) => (unplaced.push(ids), ids) };
    const dispatcher = {
      queuesWereReset: async () => false,
      closeQueuesExcept: () => undefined,
      dispatch: async () => {
        if (dispatchFails) throw new Error('READONLY You cannot write against a read only replica.');
      },
    };
    const reaper = new LostWorkReaper({} as never, {} as never, placements as never, {} as never, {} as never, {} as never, dispatcher as never);
    const live = new Set(['w1']);
    for (let i = 0; i < STALE_HAND_OVERS.max + 2; i++) await expect(reaper.reconcilePlacements(live, new Set(), 1)).rejects.toThrow('READONLY');
    dispatchFails = false;
    expect(await reaper.reconcilePlacements(live, new Set(), 1)).toEqual({ takenBack: 0, passOver: [] });
    expect(unplaced).toEqual([[]]);
  });
});
