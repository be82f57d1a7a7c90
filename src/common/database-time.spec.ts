import { describe, expect, it } from '@jest/globals';
import { DatabaseTime, MAX_KEPT_ROUND_TRIP_MS, STALE_MS } from './database-time.js';

/** A DatabaseTime on hand-moved clocks: `mono` (monotonic) and `wall` (the process's own). */
function clocks(wallStart = 1_000_000) {
  const state = { mono: 0, wall: wallStart };
  const time = new DatabaseTime(() => state.mono, () => state.wall);
  const advance = (ms: number) => {
    state.mono += ms;
    state.wall += ms;
  };
  return { state, time, advance };
}

describe('DatabaseTime', () => {
  it('is the process’s own clock until a first reading', () => {
    const { time, advance } = clocks();
    expect(time.now()).toBe(1_000_000);
    advance(250);
    expect(time.now()).toBe(1_000_250);
    expect(time.offsetMs()).toBe(0);
  });

  it('places a reading at the middle of its round trip and carries it on the monotonic clock', () => {
    const { state, time, advance } = clocks();
    // PostgreSQL 3 s ahead: the statement sent at mono 0, answered at mono 10, read 1_003_005 (its middle).
    advance(10);
    expect(time.offer(1_003_005, 0, 10)).toBe(true);
    expect(time.now()).toBe(1_003_010);
    expect(time.offsetMs()).toBe(3000);
    advance(1000);
    expect(time.now()).toBe(1_004_010);
    // The process's wall clock steps back an hour: nothing changes.
    state.wall -= 3_600_000;
    expect(time.now()).toBe(1_004_010);
    expect(time.date()).toEqual(new Date(1_004_010));
  });

  it('keeps the reading it holds against a slow one, until that one is stale', () => {
    const { time, advance } = clocks();
    expect(time.offer(1_000_000, 0, 0)).toBe(true);
    advance(1000);
    // A reading that waited 500 ms behind a busy pool, 2 s off: not kept.
    expect(time.offer(1_003_000, 500, 1000)).toBe(false);
    expect(time.now()).toBe(1_001_000);
    // A fast one is kept whatever it says (a suspended VM's monotonic clock missed its sleep).
    expect(time.offer(1_060_000, 1000, 1000 + MAX_KEPT_ROUND_TRIP_MS)).toBe(true);
    advance(MAX_KEPT_ROUND_TRIP_MS);
    expect(time.now()).toBe(1_060_000 + MAX_KEPT_ROUND_TRIP_MS / 2);
    // Once the reading held is STALE_MS old, a slow reading replaces it.
    advance(STALE_MS);
    const sent = 1100 + STALE_MS - 400;
    expect(time.offer(2_000_000, sent, sent + 400)).toBe(true);
    expect(time.now()).toBe(2_000_000 + 200);
  });

  it('refuses readings that say nothing: not a number, or a round trip that ends before it began', () => {
    const { time } = clocks();
    expect(time.offer(Number.NaN, 0, 1)).toBe(false);
    expect(time.offer(5, 10, 9)).toBe(false);
    expect(time.now()).toBe(1_000_000);
    time.offer(7, 0, 0);
    time.reset();
    expect(time.now()).toBe(1_000_000);
  });
});
