import { describe, expect, it } from '@jest/globals';
import { DatabaseTime } from '../common/database-time.js';
import { DatabaseClockSampler } from './database-clock.sampler.js';

function sampler(answers: Array<() => Promise<Array<{ ms: string | number }>>>) {
  const sql = { query: async () => (answers.shift() ?? (async () => [{ ms: Date.now() }]))() };
  const s = new DatabaseClockSampler(sql as never);
  s.time = new DatabaseTime();
  return s;
}

describe('DatabaseClockSampler', () => {
  it('feeds PostgreSQL’s clock into the estimate (read as text, as pg returns numerics)', async () => {
    const s = sampler([async () => [{ ms: String(Date.now() + 5000) }]]);
    await s.sample();
    expect(s.time.offsetMs()).toBeGreaterThan(4900);
    expect(s.time.offsetMs()).toBeLessThan(5100);
  });

  it('never throws: a reading that fails leaves the estimate as it was', async () => {
    const s = sampler([async () => [{ ms: Date.now() - 3000 }], async () => Promise.reject(new Error('Connection terminated'))]);
    await s.sample();
    await expect(s.sample()).resolves.toBeUndefined();
    expect(s.time.offsetMs()).toBeLessThan(-2900);
  });

  it('waits at most 2 s at startup for a database that does not answer, and stops reading at shutdown', async () => {
    const s = sampler([() => new Promise(() => undefined)]);
    const began = performance.now();
    await s.onModuleInit();
    expect(performance.now() - began).toBeGreaterThanOrEqual(1900);
    expect(s.time.offsetMs()).toBe(0);
    s.onApplicationShutdown();
  });
});
