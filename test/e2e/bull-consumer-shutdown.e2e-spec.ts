import { BullQueues } from '../../src/dispatch/bull-queues.js';
import { BullWorkerQueue } from '../../src/dispatch/bull-worker-queue.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { runId, TEST_REDIS_URL } from '../support/test-env.js';

describe('a worker consumer stopped right after it started', () => {
  it('leaves no unhandled rejection behind (Bull names its blocking connection in a promise of its own)', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const redis = new RedisConnections(TEST_REDIS_URL, `test:${runId()}:consumer_shutdown`);
    const queue = new BullQueues(redis).create('worker:consumer-shutdown');
    try {
      void new BullWorkerQueue(queue).start(1, async () => undefined).catch(() => undefined); // never ready: its connections go now
      // What a shutdown right after boot does: the connections close before CLIENT SETNAME is answered.
      await redis.onApplicationShutdown();
      // An unhandled rejection is reported after the microtasks of the close: give it a moment to surface.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(rejections).toEqual([]);
    } finally {
      // Stop Bull's loops, then close what it opened meanwhile (its connections are made on demand).
      await Promise.race([queue.close(true).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000))]);
      await redis.onApplicationShutdown();
      // Bull's loops, cut off by this forced close, may still reject: caught here, not in the next
      // test file of this process (an unhandled rejection fails whichever file runs).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      process.off('unhandledRejection', onRejection);
    }
  });
});
