import { describe, expect, it } from '@jest/globals';
import { backoffMs, nextRunAt, type RetryPolicy } from './retry-policy.js';

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 3,
  backoffMultiplier: 2,
  initialDelayMs: 1000,
  maxDelayMs: 3_600_000,
  ...overrides,
});

describe(backoffMs.name, () => {
  it.each([
    [1, policy(), 1000],
    [2, policy(), 2000],
    [3, policy(), 4000],
    [10, policy(), 512_000],
    [20, policy(), 3_600_000],
    [1, policy({ initialDelayMs: 200 }), 200],
    [2, policy({ initialDelayMs: 200 }), 400],
    [3, policy({ backoffMultiplier: 1 }), 1000],
    [4, policy({ backoffMultiplier: 1.5 }), 3375],
    [2, policy({ initialDelayMs: 0 }), 0],
    [3, policy({ maxDelayMs: 1500 }), 1500],
    [5000, policy({ backoffMultiplier: 100 }), 3_600_000],
  ])('after attempt %i with %j waits %i ms', (attempt, p, expected) => expect(backoffMs(attempt, p)).toBe(expected));
});

describe(nextRunAt.name, () => {
  const now = new Date('2026-01-15T10:00:00.000Z');

  it.each([
    [1, 3, '2026-01-15T10:00:01.000Z'],
    [2, 3, '2026-01-15T10:00:02.000Z'],
    [3, 3, null],
    [1, 1, null],
    [5, 3, null],
  ])('after attempt %i of %i: %s', (attempt, maxAttempts, expected) =>
    expect(nextRunAt(attempt, policy({ maxAttempts }), now)?.toISOString() ?? null).toBe(expected));
});
