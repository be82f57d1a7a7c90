import { describe, expect, it } from '@jest/globals';
import { within } from './within.js';

describe('within', () => {
  it("gives the work's value when it settles in time", async () => {
    await expect(within(Promise.resolve(7), 50, 'late')).resolves.toBe(7);
  });

  it('gives `late` when the work takes longer', async () => {
    const slow = new Promise((resolve) => setTimeout(() => resolve('slow'), 200));
    await expect(within(slow, 20, 'late')).resolves.toBe('late');
  });

  it("passes on the work's rejection", async () => {
    await expect(within(Promise.reject(new Error('boom')), 50, 'late')).rejects.toThrow('boom');
  });
});
