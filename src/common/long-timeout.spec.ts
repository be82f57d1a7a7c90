import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { MAX_TIMEOUT_MS, setLongTimeout } from './long-timeout.js';

describe(setLongTimeout.name, () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('fires after a short wait, as setTimeout does', () => {
    const fn = jest.fn();
    setLongTimeout(fn, 1000);
    jest.advanceTimersByTime(999);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("waits a year (beyond setTimeout's 2^31 - 1 ms) and fires once, not at once", () => {
    const fn = jest.fn();
    const year = 31_536_000 * 1000;
    setLongTimeout(fn, year);
    jest.advanceTimersByTime(MAX_TIMEOUT_MS + 1);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(year - MAX_TIMEOUT_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(year);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('is cancelled by clear, also after a chained step', () => {
    const fn = jest.fn();
    const t = setLongTimeout(fn, 3 * MAX_TIMEOUT_MS);
    jest.advanceTimersByTime(MAX_TIMEOUT_MS + 5);
    t.clear();
    jest.advanceTimersByTime(3 * MAX_TIMEOUT_MS);
    expect(fn).not.toHaveBeenCalled();
  });
});
