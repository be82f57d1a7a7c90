import { describe, expect, it } from '@jest/globals';
import { createBatcher, FALLBACK_MS, type BatchClock } from './batcher.js';

/** A hand-driven clock: frames run only when `frame()` is called, timers when `advance()` passes them. */
function fakeClock(hidden = false) {
  let now = 0;
  let frames: Array<() => void> = [];
  const timers = new Map<number, { at: number; run: () => void }>();
  let next = 1;
  const state = { hidden };
  const clock: BatchClock = {
    requestFrame: (run) => void frames.push(run),
    setTimer: (run, ms) => (timers.set(next, { at: now + ms, run }), next++),
    clearTimer: (handle) => void timers.delete(handle as number),
    hidden: () => state.hidden,
  };
  return {
    clock,
    state,
    frame() {
      const due = frames;
      frames = [];
      for (const run of due) run();
    },
    advance(ms: number) {
      now += ms;
      for (const [id, timer] of [...timers]) if (timer.at <= now) (timers.delete(id), timer.run());
    },
    timers: () => timers.size,
  };
}

describe('createBatcher', () => {
  it('delivers what arrived before the next animation frame as one batch, and clears its timer', () => {
    const fake = fakeClock();
    const batches: number[][] = [];
    const push = createBatcher<number>((batch) => batches.push(batch), fake.clock);
    push(1);
    push(2);
    fake.frame();
    expect(batches).toEqual([[1, 2]]);
    expect(fake.timers()).toBe(0);
    fake.advance(FALLBACK_MS);
    expect(batches).toEqual([[1, 2]]);
  });

  it('still delivers when the frame asked for never runs (the tab was hidden after asking)', () => {
    const fake = fakeClock(false);
    const batches: number[][] = [];
    const push = createBatcher<number>((batch) => batches.push(batch), fake.clock);
    push(1);
    fake.state.hidden = true; // no frame from now on
    push(2);
    fake.advance(FALLBACK_MS);
    expect(batches).toEqual([[1, 2]]);
    push(3);
    fake.advance(FALLBACK_MS);
    expect(batches).toEqual([[1, 2], [3]]);
    // The late frame of the first batch, when the tab shows again, delivers nothing twice.
    fake.frame();
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('in a hidden tab, delivers on the timer alone', () => {
    const fake = fakeClock(true);
    const batches: number[][] = [];
    const push = createBatcher<number>((batch) => batches.push(batch), fake.clock);
    push(1);
    fake.advance(FALLBACK_MS - 1);
    expect(batches).toEqual([]);
    fake.advance(1);
    expect(batches).toEqual([[1]]);
  });
});
