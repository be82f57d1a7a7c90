import { describe, expect, it } from '@jest/globals';
import { MessageBudget } from './message-budget.js';

describe('MessageBudget', () => {
  it('lets a burst through, then refuses until time refills it', () => {
    const budget = new MessageBudget(10, 3, 0);
    expect([budget.take(0), budget.take(0), budget.take(0), budget.take(0)]).toEqual([true, true, true, false]);
    expect(budget.take(50)).toBe(false); // half a message refilled
    expect(budget.take(100)).toBe(true); // one refilled
    expect(budget.take(100)).toBe(false);
  });

  it('never holds more than its burst, however long the connection was quiet', () => {
    const budget = new MessageBudget(10, 3, 0);
    const taken = Array.from({ length: 5 }, () => budget.take(60_000)).filter(Boolean).length;
    expect(taken).toBe(3);
  });
});
