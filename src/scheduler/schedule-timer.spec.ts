import { armDelay } from './schedule-timer.js';

describe('armDelay', () => {
  const began = 1_000_000;

  it('sleeps until a future tick', () => {
    expect(armDelay(began + 1_500, began + 200, began)).toBe(1_300);
  });

  it('fires at once a tick that fell due during the round', () => {
    expect(armDelay(began + 100, began + 300, began)).toBe(0);
  });

  it('waits RETRY_MS before a tick the round left behind, so a held lock does not spin the loop', () => {
    expect(armDelay(began - 5, began + 300, began)).toBe(50);
    expect(armDelay(began, began + 300, began)).toBe(50);
  });

  it('sleeps at most a minute, as the earliest tick may move', () => {
    expect(armDelay(began + 3_600_000, began, began)).toBe(60_000);
  });
});
