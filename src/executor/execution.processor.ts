import { Injectable, Logger } from '@nestjs/common';
import type Bull from 'bull';
import { BullQueues } from '../dispatch/bull-queues.js';
import { workerQueueName, type DispatchedJobData } from '../dispatch/job-dispatcher.js';
import { ExecutionService } from './execution.service.js';
import { WorkerIdentity } from './worker-identity.js';

/**
 * This worker's Bull consumer: its own queue, concurrency = its slots (STYLE §4.1: registered at
 * bootstrap with queue.process, not @Process, whose arguments are frozen at import time).
 */
@Injectable()
export class ExecutionProcessor {
  private readonly logger = new Logger(ExecutionProcessor.name);
  private queue?: Bull.Queue<DispatchedJobData>;

  constructor(
    private readonly identity: WorkerIdentity,
    private readonly bull: BullQueues,
    private readonly executions: ExecutionService,
  ) {}

  async start(): Promise<void> {
    const queue = this.bull.create(workerQueueName(this.identity.id)) as Bull.Queue<DispatchedJobData>;
    this.queue = queue;
    queue.on('error', (error) => this.logger.warn({ err: error.message }, 'bull queue error'));
    void queue.process(this.identity.maxConcurrentJobs, async (bullJob: Bull.Job<DispatchedJobData>) => {
      try {
        await this.executions.run(bullJob.data);
      } catch (error) {
        this.logger.error({ err: error, jobId: bullJob.data.jobId }, 'execution failed');
      }
    });
    await queue.isReady();
  }

  /** Stops taking new jobs from Redis (running ones go on). */
  async pause(): Promise<void> {
    await this.queue?.pause(true, true).catch(() => undefined);
  }

  async close(): Promise<void> {
    const queue = this.queue;
    this.queue = undefined;
    if (!queue) return;
    await queue.close(true).catch(() => undefined);
  }
}
