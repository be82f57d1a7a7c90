import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type Bull from 'bull';
import { deleteQueueKeys } from './bull-queue-keys.js';
import type { DispatchedJobData } from './job-dispatcher.js';
import { WorkerQueue } from './worker-queue.js';

/** Injection name of this worker's own Bull queue (its Bull name is `worker:<worker id>`). */
export const EXECUTION_QUEUE = 'execution';

/**
 * The worker's Bull consumer: its own queue (built and closed by @nestjs/bull), registered at
 * bootstrap with queue.process (not @Process, whose arguments are fixed at import time).
 */
@Injectable()
export class BullWorkerQueue extends WorkerQueue {
  private readonly logger = new Logger(BullWorkerQueue.name);

  constructor(@InjectQueue(EXECUTION_QUEUE) private readonly queue: Bull.Queue<DispatchedJobData>) {
    super();
  }

  async start(concurrency: number, run: (data: DispatchedJobData) => Promise<void>): Promise<void> {
    this.queue.on('error', (error) => {
      // The hand-over's key left Redis while this worker held it: the leader deletes the queue of a worker
      // it declared lost (a frozen process, a cut link), and a FLUSHDB or a Redis restart without
      // persistence empties everything. Bull cannot then move it to finished. Expected, and harmless: the
      // job's outcome lives in PostgreSQL, where the worker's guarded writes go.
      if (/^Missing key for job /.test(error.message)) {
        this.logger.log({ err: error.message }, 'a hand-over left Redis while this worker held it (its queue was removed, or Redis emptied): nothing to do');
        return;
      }
      this.logger.warn({ err: error.message }, 'bull queue error');
    });
    // queue.process names the blocking connection (CLIENT SETNAME) in a promise Bull does not handle: a
    // shutdown right after start closes that connection first, and the rejected promise ("Connection is
    // closed.") would be an unhandled rejection. The name only labels the connection in CLIENT LIST.
    const named = this.queue as unknown as { setWorkerName(): Promise<void> };
    const setWorkerName = named.setWorkerName.bind(named);
    named.setWorkerName = () =>
      setWorkerName().catch((error: Error) => this.logger.debug({ err: error.message }, 'could not name the bull consumer connection'));
    void this.queue.process(concurrency, async (bullJob: Bull.Job<DispatchedJobData>) => run(bullJob.data));
    await this.queue.isReady();
  }

  async pause(): Promise<void> {
    await this.queue.pause(true, true).catch(() => undefined);
  }

  /** Closes the consumer (its Redis connections and timers) and leaves the queue's keys to the id's new holder. */
  override async letGo(): Promise<void> {
    try {
      await this.queue.close();
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not close this worker\'s queue consumer');
    }
  }

  /**
   * Deletes the queue's keys from Redis (a stopped worker's queue would otherwise stay for good):
   * the queue is closed first, so that its timers write no key again, then its keys go by name.
   */
  override async discard(): Promise<void> {
    try {
      await this.queue.close();
      await deleteQueueKeys(this.queue.client, (this.queue as unknown as { keyPrefix: string }).keyPrefix, this.queue.name);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not remove this worker\'s queue from Redis');
    }
  }
}
