import { describe, expect, it } from '@jest/globals';
import { DatabaseTime } from './database-time.js';

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
    expect(time.uncertaintyMs()).toBeNull();
  });

  it('is the process’s own clock, exactly, while that lies within what the readings allow', () => {
    const { time, advance } = clocks();
    // Sent at mono 0, answered at mono 40: PostgreSQL read 1_000_032, somewhere in between.
    advance(40);
    time.offer(1_000_032, 0, 40);
    expect(time.now()).toBe(1_000_040);
    expect(time.offsetMs()).toBe(0);
    expect(time.uncertaintyMs()).toBe(40);
  });

  it('is the nearer bound for a process seconds off, carried on the monotonic clock', () => {
    const { state, time, advance } = clocks();
    // PostgreSQL 3 s ahead: sent at mono 0, answered at mono 10, read 1_003_005.
    advance(10);
    expect(time.offer(1_003_005, 0, 10)).toBe(true);
    expect(time.now()).toBe(1_003_005); // at least the reading, 0 ms after the answer
    advance(1000);
    expect(time.now()).toBe(1_004_005);
    // The process's wall clock steps back an hour: nothing changes.
    state.wall -= 3_600_000;
    expect(time.now()).toBe(1_004_005);
    expect(time.date()).toEqual(new Date(1_004_005));
    expect(time.offsetMs()).toBe(3_600_000 + 2995);
  });

  it('narrows with each reading, and a reading that waited behind a busy pool cannot pull it off', () => {
    const { time, advance } = clocks();
    // The truth: PostgreSQL = monotonic + 1_003_000 (3 s ahead of the wall clock).
    advance(10);
    time.offer(1_003_004, 0, 10); // bounds [1_002_994, 1_003_004]
    advance(1000);
    time.offer(1_004_009, 1008, 1010); // [1_002_999, 1_003_001]: the overlap
    expect(time.uncertaintyMs()).toBe(2);
    advance(1000);
    // 8 s waiting for a pooled connection, then read at once: [1_003_000, 1_011_000]. Placed at its middle
    // it would say 4 s more; as bounds it only agrees with the truth.
    time.offer(2010 + 1_003_000, 2010 - 8000, 2010);
    expect(time.now()).toBe(2010 + 1_003_000);
    expect(time.uncertaintyMs()).toBe(1);
  });

  it('takes a reading that does not overlap the bounds held: those were wrong (a VM’s monotonic clock missed its sleep)', () => {
    const { time, advance } = clocks();
    time.offer(1_000_000, 0, 0);
    advance(1000);
    expect(time.offer(1_061_000, 990, 1000)).toBe(true);
    expect(time.now()).toBe(1_061_000);
    expect(time.uncertaintyMs()).toBe(10);
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
