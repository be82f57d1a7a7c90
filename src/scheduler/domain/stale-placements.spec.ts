import { describe, expect, it } from '@jest/globals';
import type { Worker } from '../../resources/entities/worker.entity.js';
import { roomsOf } from './scheduling.js';
import { NO_RULES, pairKey, type QueueRules } from './flow-control.js';
import { passingOver, regatedTypes, splitStale, STALE_HAND_OVERS, StaleHandOvers } from './stale-placements.js';

const worker = (id: string, status: Worker['status'], slots = 4): Worker =>
  ({ id, status, maxConcurrentJobs: slots, maxCpuUnits: 8, maxMemoryMb: 4096 }) as Worker;

describe(splitStale.name, () => {
  it('hands placements on live workers over again, and takes back those whose worker is gone', () => {
    const stale = [
      { id: 'a', workerId: 'live', attempts: 0, type: 'noop' },
      { id: 'b', workerId: 'gone', attempts: 1, type: 'noop' },
      { id: 'c', workerId: 'live', attempts: 2, type: 'noop' },
    ];
    const { handOver, placeAgain, orphaned } = splitStale(stale, new Set(['live']), new Set());
    expect(handOver.map((s) => s.id)).toEqual(['a', 'c']);
    expect(placeAgain).toEqual([]);
    expect(orphaned).toEqual(['b']);
  });

  it('takes back the placements of rate-limited types, to be placed again through the gate', () => {
    const stale = [
      { id: 'a', workerId: 'live', attempts: 0, type: 'data_fetch' },
      { id: 'b', workerId: 'live', attempts: 0, type: 'noop' },
      { id: 'c', workerId: 'gone', attempts: 0, type: 'data_fetch' },
    ];
    const { handOver, placeAgain, orphaned } = splitStale(stale, new Set(['live']), new Set(['data_fetch']));
    expect(handOver.map((s) => s.id)).toEqual(['b']);
    expect(placeAgain.map((s) => s.id)).toEqual(['a']);
    expect(orphaned).toEqual(['c']);
  });
});

describe(StaleHandOvers.name, () => {
  const placement = (id: string, attempts = 0) => ({ id, workerId: 'w', attempts });

  it(`hands a placement over ${STALE_HAND_OVERS.max} times, then takes it back`, () => {
    const counts = new StaleHandOvers();
    for (let i = 0; i < STALE_HAND_OVERS.max; i++) expect(counts.sort([placement('a')], 1_000 * i, 20_000)).toEqual({ again: [placement('a')], takeBack: [] });
    expect(counts.sort([placement('a')], 10_000, 20_000)).toEqual({ again: [], takeBack: [placement('a')] });
    expect(counts.sort([placement('a')], 11_000, 20_000)).toEqual({ again: [placement('a')], takeBack: [] }); // placed again: counted afresh
  });

  it('counts each attempt on its own, and forgets a placement not seen for forgetMs', () => {
    const counts = new StaleHandOvers();
    for (let i = 0; i < STALE_HAND_OVERS.max; i++) counts.sort([placement('a', 0)], i, 20_000);
    expect(counts.sort([placement('a', 1)], 10, 20_000).takeBack).toEqual([]);
    expect(counts.sort([placement('a', 0)], 30_000, 20_000).takeBack).toEqual([]);
  });
});

describe('StaleHandOvers.uncount', () => {
  it('does not count a hand-over whose dispatch failed', () => {
    const counts = new StaleHandOvers();
    const a = { id: 'a', workerId: 'w', attempts: 0 };
    for (let i = 0; i < 10; i++) {
      expect(counts.sort([a], i, 20_000).takeBack).toEqual([]);
      counts.uncount([a]);
    }
  });
});

describe(passingOver.name, () => {
  it('makes the rooms of workers passed over not accept jobs until then', () => {
    const rooms = roomsOf([worker('a', 'active'), worker('b', 'active')], new Map());
    expect(passingOver(rooms, new Map([['a', 5_000]]), 4_000).map((r) => r.accepting)).toEqual([false, true]);
    expect(passingOver(rooms, new Map([['a', 5_000]]), 5_000).map((r) => r.accepting)).toEqual([true, true]);
  });

  it('marks them passed over (a waiting job’s reason counts them), but not a draining one', () => {
    const rooms = roomsOf([worker('a', 'active'), worker('b', 'draining')], new Map());
    expect(passingOver(rooms, new Map([['a', 5_000], ['b', 5_000]]), 4_000).map((r) => r.passedOver ?? false)).toEqual([true, false]);
  });
});

describe(regatedTypes.name, () => {
  const rules = (entries: Record<string, Partial<QueueRules>>) => new Map(Object.entries(entries).map(([type, r]) => [type, { ...NO_RULES, ...r }]));
  const running = (byType: Record<string, number>, byKey: Array<[string, string, number]> = []) => ({
    byType: new Map(Object.entries(byType)),
    byKey: new Map(byKey.map(([type, key, n]) => [pairKey(type, key), n])),
  });

  it('takes back the placements of paused types and of types over a lowered concurrency limit, not of those at it', () => {
    const types = regatedTypes(
      rules({
        rated: { rateLimit: { limit: 5, intervalMs: 1_000 } },
        paused: { paused: true },
        over: { concurrencyLimit: 2 },
        at: { concurrencyLimit: 3 },
        keyOver: { keyConcurrencyLimit: 1 },
        keyAt: { keyConcurrencyLimit: 2 },
      }),
      running({ over: 3, at: 3, keyOver: 2, keyAt: 2 }, [['keyOver', 'k1', 2], ['keyAt', 'k1', 1], ['keyAt', 'k2', 1]]),
    );
    expect([...types].sort()).toEqual(['keyOver', 'over', 'paused', 'rated']);
  });

  it('hands over again the stale placements of a type only at its limit, and takes back those of a paused one', () => {
    const stale = [
      { id: 'a', workerId: 'live', attempts: 0, type: 'paused' },
      { id: 'b', workerId: 'live', attempts: 0, type: 'noop' },
    ];
    const { handOver, placeAgain } = splitStale(stale, new Set(['live']), regatedTypes(rules({ paused: { paused: true } }), running({})));
    expect(handOver.map((s) => s.id)).toEqual(['b']);
    expect(placeAgain.map((s) => s.id)).toEqual(['a']);
  });
});
