import { describe, expect, it } from '@jest/globals';
import { mapInSlices, serializeListInSlices } from './time-slices.js';

describe(mapInSlices.name, () => {
  it('maps in order, letting other work run between slices', async () => {
    let turns = 0;
    const ticker = setInterval(() => (turns += 1), 0);
    const out = await mapInSlices(Array.from({ length: 50 }, (_, i) => i), (n, i) => {
      const until = performance.now() + 1;
      while (performance.now() < until); // 1 ms of work an item
      return n * 10 + i;
    }, 5);
    clearInterval(ticker);
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => i * 11));
    expect(turns).toBeGreaterThan(3);
  });

  it('stops at the first throw', async () => {
    await expect(mapInSlices([1, 2, 3], (n) => {
      if (n === 2) throw new Error('two');
      return n;
    })).rejects.toThrow('two');
  });
});

describe(serializeListInSlices.name, () => {
  it('writes what JSON.stringify would', async () => {
    const items = [{ a: 1 }, { b: 'x"y' }, { c: null }];
    expect(await serializeListInSlices('items', items, (x) => JSON.stringify(x))).toBe(JSON.stringify({ items }));
    expect(await serializeListInSlices('items', [], (x) => JSON.stringify(x))).toBe('{"items":[]}');
  });
});
