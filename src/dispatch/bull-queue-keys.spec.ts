import { describe, expect, it } from '@jest/globals';
import { isQueueKey } from './bull-queue-keys.js';

const JOB = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe(isQueueKey.name, () => {
  it('takes the queue\'s own keys: Bull\'s lists and markers, and its jobs\' hashes, locks and logs', () => {
    for (const what of ['wait', 'active', 'paused', 'meta-paused', 'stalled-check', 'id', 'delayed', `${JOB}:1`, `${JOB}:2:lock`, `${JOB}:12:logs`, `${JOB}:1:again-lx2k`, `${JOB}:1:again-lx2k:lock`, `${JOB}:1:again-lx2k:logs`]) {
      expect(isQueueKey(`draconic:worker:w1:${what}`, 'draconic', 'worker:w1')).toBe(true);
    }
  });

  it('leaves the keys of a queue whose name extends this one, of other prefixes, and everything else', () => {
    expect(isQueueKey('draconic:worker:w1:b:wait', 'draconic', 'worker:w1')).toBe(false);
    expect(isQueueKey(`draconic:worker:w1:${JOB}:1:wait`, 'draconic', 'worker:w1')).toBe(false);
    expect(isQueueKey('other:worker:w1:wait', 'draconic', 'worker:w1')).toBe(false);
    expect(isQueueKey('draconic:worker:w10:wait', 'draconic', 'worker:w1')).toBe(false);
    expect(isQueueKey('draconic:job-events', 'draconic', 'worker:w1')).toBe(false);
    expect(isQueueKey('draconic:worker:w1', 'draconic', 'worker:w1')).toBe(false);
  });
});
