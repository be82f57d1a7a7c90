import { describe, expect, it } from '@jest/globals';
import { Coalescer } from './coalescer.js';

describe(Coalescer.name, () => {
  it('runs calls made in one turn as one batch, each caller getting its own result', async () => {
    const batches: number[][] = [];
    const c = new Coalescer<number, number>(async (items) => {
      batches.push(items);
      return items.map((i) => i * 10);
    });
    const results = await Promise.all([1, 2, 3].map((i) => c.push(i)));
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('gathers calls made while a batch runs into the next batch', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Coalescer<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items;
    });
    const first = c.push(1);
    await new Promise((r) => setImmediate(r));
    const later = [c.push(2), c.push(3)];
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('splits batches at maxBatch', async () => {
    const sizes: number[] = [];
    const c = new Coalescer<number, number>(async (items) => {
      sizes.push(items.length);
      return items;
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map((i) => c.push(i)));
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('rejects every caller of a failed batch and goes on with the next', async () => {
    let calls = 0;
    const c = new Coalescer<number, number>(async (items) => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      return items;
    });
    const failed = Promise.all([c.push(1), c.push(2)]);
    await expect(failed).rejects.toThrow('boom');
    await expect(c.push(3)).resolves.toBe(3);
  });
});
