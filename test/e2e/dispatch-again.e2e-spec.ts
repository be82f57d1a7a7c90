import { afterEach, describe, expect, it } from '@jest/globals';
import Bull from 'bull';
import { randomBytes } from 'node:crypto';
import { BullJobDispatcher } from '../../src/dispatch/bull-job-dispatcher.js';
import { BullQueues } from '../../src/dispatch/bull-queues.js';
import { InProcessQueues } from '../../src/dispatch/in-process-queues.js';
import { workerQueueName, type DispatchedJobData } from '../../src/dispatch/job-dispatcher.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { runId, TEST_REDIS_URL } from '../support/test-env.js';
import { expectEventually } from '../support/test-app.js';

/**
 * Handing a placed job over again through Bull, on the real Redis: the case a restart after kill -9
 * leaves behind, where the worker's queue still holds the hand-over as active under a consumer that
 * died after taking it and before starting the job.
 */
describe('handing a placed job over again (Bull, real Redis)', () => {
  const opened: Array<{ close(): Promise<unknown> | void }> = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  async function setUp() {
    const redis = new RedisConnections(TEST_REDIS_URL, `test:${runId()}:dispatch_${randomBytes(3).toString('hex')}`);
    const queues = new BullQueues(redis);
    const dispatcher = new BullJobDispatcher(queues, new InProcessQueues());
    opened.push({ close: () => redis.onApplicationShutdown() }, { close: () => dispatcher.onModuleDestroy() });
    /** A consumer of worker `w`'s queue, as a worker process has: records what it is given. */
    const consume = async () => {
      const queue = queues.create(workerQueueName('w')) as Bull.Queue<DispatchedJobData>;
      opened.push({ close: () => queue.close() });
      const got: DispatchedJobData[] = [];
      void queue.process(1, async (job: Bull.Job<DispatchedJobData>) => void got.push(job.data));
      await queue.isReady();
      return got;
    };
    /** Takes the next hand-over as a consumer would, then drops it without a word: kill -9 between take and start. */
    const takeAndDie = async () => {
      const queue = new Bull<DispatchedJobData>(workerQueueName('w'), TEST_REDIS_URL, { prefix: queues.options().prefix });
      const taken = await queue.getNextJob();
      await queue.close(true);
      return taken?.id;
    };
    /** The state Bull holds a hand-over in. */
    const stateOf = async (id: string) => {
      const queue = queues.create(workerQueueName('w'));
      opened.push({ close: () => queue.close() });
      return (await queue.getJob(id))?.getState();
    };
    return { dispatcher, consume, takeAndDie, stateOf };
  }

  it('reaches the worker at once when a dead consumer still holds the first hand-over as active', async () => {
    const { dispatcher, consume, takeAndDie, stateOf } = await setUp();
    await dispatcher.dispatch([{ workerId: 'w', jobId: 'job-1', attempt: 2 }]);
    expect(await takeAndDie()).toBe('job-1:2');
    expect(await stateOf('job-1:2')).toBe('active'); // its lock outlives the consumer by Bull's lockDuration (30 s)

    await dispatcher.dispatch([{ workerId: 'w', jobId: 'job-1', attempt: 2 }], { again: true });
    const got = await consume();
    await expectEventually(async () => expect(got).toEqual([{ jobId: 'job-1', attempt: 2 }]), { timeoutMs: 5000, intervalMs: 50 });
  });

  it('replaces a copy still waiting rather than queueing a second one', async () => {
    const { dispatcher, consume } = await setUp();
    await dispatcher.dispatch([{ workerId: 'w', jobId: 'job-2', attempt: 1 }]);
    await dispatcher.dispatch([{ workerId: 'w', jobId: 'job-2', attempt: 1 }], { again: true });
    await dispatcher.dispatch([{ workerId: 'w', jobId: 'job-2', attempt: 1 }]);
    const got = await consume();
    await expectEventually(async () => expect(got).toEqual([{ jobId: 'job-2', attempt: 1 }]), { timeoutMs: 5000, intervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(got).toHaveLength(1);
  });
});
