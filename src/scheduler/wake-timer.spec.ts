import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { dueTimerDelay, dueTimerKept } from './domain/scheduling.js';
import { WakeTimer } from './wake-timer.js';

describe(WakeTimer.name, () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const dueTimer = () => {
    const wakes: number[] = [];
    const timer = new WakeTimer(() => wakes.push(Date.now()), (armedAt, at) => dueTimerKept(armedAt, at), dueTimerDelay);
    return { timer, wakes };
  };

  it('wakes once, at the earliest time asked for', () => {
    const { timer, wakes } = dueTimer();
    timer.arm(1_005_000);
    timer.arm(1_002_000); // earlier: re-armed
    timer.arm(1_009_000); // later: the armed one serves
    jest.advanceTimersByTime(10_000);
    expect(wakes).toEqual([1_002_000]);
  });

  it('after forget(), the next time asked for replaces the armed one, even a later one', () => {
    const { timer, wakes } = dueTimer();
    timer.arm(1_002_000);
    timer.forget();
    timer.arm(1_004_000);
    jest.advanceTimersByTime(10_000);
    expect(wakes).toEqual([1_004_000]);
  });

  it('stop() cancels the wake-up, and a later arm starts afresh', () => {
    const { timer, wakes } = dueTimer();
    timer.arm(1_002_000);
    timer.stop();
    jest.advanceTimersByTime(5_000);
    expect(wakes).toEqual([]);
    timer.arm(1_008_000);
    jest.advanceTimersByTime(5_000);
    expect(wakes).toEqual([1_008_000]);
  });
});
