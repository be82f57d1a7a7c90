import { describe, expect, it } from '@jest/globals';
import { describeRules, formOf, isLimited, limitsPatch } from './queues.js';

const free = { paused: false, concurrency_limit: null, key_concurrency_limit: null, rate_limit: null };

describe('queue rules in words', () => {
  it('says nothing for a queue without rules', () => {
    expect(describeRules(free)).toEqual([]);
    expect(isLimited(free)).toBe(false);
  });

  it('names each rule', () => {
    expect(describeRules({ paused: true, concurrency_limit: 5, key_concurrency_limit: 2, rate_limit: { limit: 10, interval_ms: 1000 } })).toEqual([
      'paused: no new job starts',
      'at most 5 at once',
      'at most 2 at once per concurrency key',
      'at most 10 starts a second',
    ]);
    expect(describeRules({ ...free, rate_limit: { limit: 1, interval_ms: 60_000 } })).toEqual(['at most 1 start a minute']);
    expect(describeRules({ ...free, rate_limit: { limit: 3, interval_ms: 90_000 } })).toEqual(['at most 3 starts in any 1 min 30 s']);
    expect(describeRules({ ...free, rate_limit: { limit: 3, interval_ms: 250 } })).toEqual(['at most 3 starts in any 250 ms']);
    expect(isLimited({ ...free, paused: true })).toBe(true);
  });
});

describe('the limits form', () => {
  it('round-trips a queue', () => {
    const queue = { concurrency_limit: 5, key_concurrency_limit: null, rate_limit: { limit: 10, interval_ms: 1000 } };
    expect(formOf(queue)).toEqual({ concurrency_limit: '5', key_concurrency_limit: '', rate_limit: '10', rate_interval_ms: '1000' });
    expect(limitsPatch(formOf(queue))).toEqual(queue);
  });

  it('clears a limit whose field is empty', () => {
    expect(limitsPatch({ concurrency_limit: ' ', key_concurrency_limit: '', rate_limit: '', rate_interval_ms: '' })).toEqual({
      concurrency_limit: null,
      key_concurrency_limit: null,
      rate_limit: null,
    });
  });

  it('sends what the service must refuse as typed, so its message names the field', () => {
    const patch = limitsPatch({ concurrency_limit: 'five', key_concurrency_limit: '0', rate_limit: '10', rate_interval_ms: '' });
    expect(patch).toEqual({ concurrency_limit: 'five', key_concurrency_limit: 0, rate_limit: { limit: 10 } });
    // Never NaN, which JSON would turn into null (a cleared limit).
    expect(JSON.stringify(patch)).toBe('{"concurrency_limit":"five","key_concurrency_limit":0,"rate_limit":{"limit":10}}');
  });
});
