import { describe, expect, it } from '@jest/globals';
import { whileDatabaseAway, writeUntil } from './write-retries.js';

const tooManyConnections = () => Object.assign(new Error('sorry, too many clients already'), { code: '53300' });

describe(whileDatabaseAway.name, () => {
  it('runs a boot step again while PostgreSQL refuses it (a connection limit), then gives its value', async () => {
    let tries = 0;
    const retried: unknown[] = [];
    const value = await whileDatabaseAway(performance.now() + 10_000, (e) => retried.push(e), async () => {
      tries += 1;
      if (tries < 3) throw tooManyConnections();
      return 'registered';
    });
    expect(value).toBe('registered');
    expect(tries).toBe(3);
    expect(retried).toHaveLength(2);
  });

  it('throws any other error at once, and a refusal past the deadline', async () => {
    await expect(whileDatabaseAway(performance.now() + 10_000, () => undefined, async () => Promise.reject(new Error('worker id in use')))).rejects.toThrow('worker id in use');
    await expect(whileDatabaseAway(performance.now(), () => undefined, async () => Promise.reject(tooManyConnections()))).rejects.toThrow('too many clients');
  });
});

describe(writeUntil.name, () => {
  it('gives up on a write at the deadline without throwing', async () => {
    const gaveUp: unknown[] = [];
    await writeUntil(performance.now(), async () => Promise.reject(new Error('down')), { retrying: () => undefined, givingUp: (e) => gaveUp.push(e) });
    expect(gaveUp).toHaveLength(1);
  });
});
