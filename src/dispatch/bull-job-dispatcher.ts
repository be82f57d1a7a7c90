import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type Bull from 'bull';
import { deleteQueueKeys } from './bull-queue-keys.js';
import { JobDispatcher, workerQueueName, type Dispatch, type DispatchedJobData } from './job-dispatcher.js';
import type { StartedJob } from '../jobs/job-row.js';
import type { BullQueues } from './bull-queues.js';
import type { InProcessQueues } from './in-process-queues.js';

/**
 * JobDispatcher over Bull: one queue per worker, Bull job id = `<job id>:<attempt>`. A job placed on
 * the worker of this very process (ROLE=all) skips Redis: it goes through the in-process lane, as
 * nothing has to be carried between processes (the worker dies with the scheduler that placed it,
 * and the next leader re-places what was not started, as for a lost Bull queue).
 */
export class BullJobDispatcher extends JobDispatcher implements OnModuleDestroy {
  private readonly logger = new Logger(BullJobDispatcher.name);
  private readonly queues = new Map<string, Bull.Queue<DispatchedJobData>>();

  constructor(
    private readonly bull: BullQueues,
    private readonly local: InProcessQueues,
  ) {
    super();
  }

  async dispatch(items: readonly Dispatch[], options: { again?: boolean } = {}): Promise<void> {
    const byWorker = new Map<string, Dispatch[]>();
    for (const item of items) {
      if (this.local.consumes(item.workerId)) {
        this.local.queueOf(item.workerId).add({ jobId: item.jobId, attempt: item.attempt });
        continue;
      }
      const list = byWorker.get(item.workerId) ?? [];
      list.push(item);
      byWorker.set(item.workerId, list);
    }
    await Promise.all(
      [...byWorker].map(async ([workerId, list]) => {
        const queue = this.queue(workerId);
        const ids = options.again
          ? await Promise.all(list.map(({ jobId, attempt }) => this.freshId(queue, `${jobId}:${attempt}`)))
          : list.map(({ jobId, attempt }) => `${jobId}:${attempt}`);
        await queue.addBulk(list.map(({ jobId, attempt }, i) => ({ data: { jobId, attempt }, opts: { jobId: ids[i] } })));
      }),
    );
  }

  runsHere(workerId: string): boolean {
    return this.local.consumes(workerId);
  }

  handOver(workerId: string, started: readonly StartedJob[]): void {
    this.local.queueOf(workerId).handOver(started);
  }

  /**
   * The Bull id for handing `id` over again. Bull's add ignores an id it still holds, so a copy that
   * is not active (waiting, or left failed after Redis lost its lock) is removed first. An active copy
   * cannot be removed, and may be held by a consumer that died after taking it and before starting the
   * job (kill -9): Bull frees it only after its lock expires and a stalled check or two have passed,
   * about a minute and a half. The job then goes out under an id of its own at once; if the active copy
   * was alive after all, the worker's start (guarded by attempt) lets only one of them run.
   */
  private async freshId(queue: Bull.Queue<DispatchedJobData>, id: string): Promise<string> {
    const own = `${id}:again-${Date.now().toString(36)}`;
    try {
      const job = await queue.getJob(id);
      if (!job) return id;
      if (await job.isActive()) return own;
      await job.remove();
      return id;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, bullJobId: id }, 'could not clear a stale queue entry');
      return own;
    }
  }

  /**
   * Closes this process's handle on the worker's queue and deletes the queue's keys from Redis by
   * name (whoever created them: this leader, an earlier one, the worker itself).
   */
  async forget(workerId: string): Promise<void> {
    const queue = this.queues.get(workerId);
    this.queues.delete(workerId);
    await queue?.close().catch(() => undefined);
    try {
      const deleted = await deleteQueueKeys(this.bull.redis.client, this.bull.redis.prefix, workerQueueName(workerId));
      if (deleted > 0) this.logger.log({ workerId, keys: deleted }, 'removed the queue of a gone worker from Redis');
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, workerId }, 'could not remove the queue of a gone worker from Redis');
    }
  }

  closeQueuesExcept(live: ReadonlySet<string>): void {
    for (const [workerId, queue] of this.queues) {
      if (live.has(workerId)) continue;
      this.queues.delete(workerId);
      void queue.close().catch(() => undefined);
    }
  }

  /**
   * A sentinel key kept beside the queues: when it is missing, Redis lost its data (emptied,
   * restarted without persistence, failed over) and with it the queued hand-overs. Set again at once.
   * The first call of a new leader also finds it set or sets it; finding it missing then only
   * costs one extra hand-over of what is placed and not started, which workers deduplicate.
   */
  async queuesWereReset(): Promise<boolean> {
    const redis = this.bull.redis;
    return (await redis.client.set(redis.key('dispatch-sentinel'), new Date().toISOString(), 'NX')) === 'OK';
  }

  private queue(workerId: string): Bull.Queue<DispatchedJobData> {
    let queue = this.queues.get(workerId);
    if (!queue) {
      queue = this.bull.create(workerQueueName(workerId)) as Bull.Queue<DispatchedJobData>;
      this.queues.set(workerId, queue);
    }
    return queue;
  }

  /** Stops the queues' timers; their shared connections are closed by RedisConnections afterwards. */
  async onModuleDestroy(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close(true).catch(() => undefined)));
  }
}
