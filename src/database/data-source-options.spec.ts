import { describe, expect, it } from '@jest/globals';
import { stallTimeoutMs } from './data-source-options.js';

describe(stallTimeoutMs.name, () => {
  it('waits past DB_QUERY_TIMEOUT_MS by a second, or a fifth of it when longer, so that the server’s cancel comes first', () => {
    expect(stallTimeoutMs(0)).toBe(0);
    expect(stallTimeoutMs(1000)).toBe(2000);
    expect(stallTimeoutMs(5000)).toBe(6000);
    expect(stallTimeoutMs(30_000)).toBe(36_000);
  });
});
