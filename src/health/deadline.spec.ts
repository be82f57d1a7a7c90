import { describe, expect, it } from '@jest/globals';
import { TimeoutError, withTimeout } from './deadline.js';

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe(withTimeout.name, () => {
  it('passes on the answer that comes in time', async () => {
    await expect(withTimeout(after(10, 'PONG'), 200, 'Redis')).resolves.toBe('PONG');
  });

  it('fails with a TimeoutError naming the dependency when no answer comes', async () => {
    const startedAt = performance.now();
    const check = withTimeout(new Promise(() => undefined), 50, 'PostgreSQL');
    await expect(check).rejects.toThrow(new TimeoutError('PostgreSQL did not answer within 50 ms'));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(49);
  });

  it('passes on its own failure', async () => {
    await expect(withTimeout(Promise.reject(new Error('ECONNREFUSED')), 100, 'Redis')).rejects.toThrow('ECONNREFUSED');
  });

  it('gives one more period when its timer fired late because this process was busy', async () => {
    const check = withTimeout(after(250, 'PONG'), 100, 'Redis');
    busyFor(200); // the deadline (100 ms) passes while the event loop is blocked; the answer comes at 250 ms
    await expect(check).resolves.toBe('PONG');
  });
});
