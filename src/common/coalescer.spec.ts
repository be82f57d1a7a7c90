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

  it('runs a batch failed by an error it should isolate again item by item: only the bad item fails', async () => {
    const batches: number[][] = [];
    const c = new Coalescer<number, number>(
      async (items) => {
        batches.push(items);
        if (items.includes(2)) throw Object.assign(new Error('bad item'), { code: '22008' });
        return items.map((i) => i * 10);
      },
      500,
      (error) => (error as { code?: string }).code === '22008',
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => c.push(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual([10, 'rejected', 30]);
    expect(batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('rejects the whole batch on an error it should not isolate (no retry per item)', async () => {
    let calls = 0;
    const c = new Coalescer<number, number>(
      async () => {
        calls += 1;
        throw Object.assign(new Error('connection terminated'), { code: '57P01' });
      },
      500,
      (error) => (error as { code?: string }).code === '22008',
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => c.push(i)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toBe(1);
  });
});
