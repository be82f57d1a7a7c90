import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type Bull from 'bull';
import type { DispatchedJobData } from '../dispatch/job-dispatcher.js';
import { ExecutionService } from './execution.service.js';
import { WorkerIdentity } from './worker-identity.js';

/** Injection name of this worker's own queue (its Bull name is `worker:<worker id>`). */
export const EXECUTION_QUEUE = 'execution';

/**
 * This worker's Bull consumer: its own queue (built and closed by @nestjs/bull), concurrency = its
 * slots (STYLE §4.1: registered at bootstrap with queue.process, not @Process, whose arguments are
 * frozen at import time).
 */
@Injectable()
export class ExecutionProcessor {
  private readonly logger = new Logger(ExecutionProcessor.name);

  constructor(
    @InjectQueue(EXECUTION_QUEUE) private readonly queue: Bull.Queue<DispatchedJobData>,
    private readonly identity: WorkerIdentity,
    private readonly executions: ExecutionService,
  ) {}

  async start(): Promise<void> {
    this.queue.on('error', (error) => this.logger.warn({ err: error.message }, 'bull queue error'));
    void this.queue.process(this.identity.maxConcurrentJobs, async (bullJob: Bull.Job<DispatchedJobData>) => {
      try {
        await this.executions.run(bullJob.data);
      } catch (error) {
        this.logger.error({ err: error, jobId: bullJob.data.jobId }, 'execution failed');
      }
    });
    await this.queue.isReady();
  }

  /** Stops taking new jobs from Redis (running ones go on). */
  async pause(): Promise<void> {
    await this.queue.pause(true, true).catch(() => undefined);
  }
}
