import { Injectable, Logger } from '@nestjs/common';
import { WorkerQueue } from '../dispatch/worker-queue.js';
import { ExecutionService } from './execution.service.js';
import { WorkerIdentity } from './worker-identity.js';

/** Feeds this worker's queue (Bull or in-process) to the executions, concurrency = its slots. */
@Injectable()
export class ExecutionProcessor {
  private readonly logger = new Logger(ExecutionProcessor.name);

  constructor(
    private readonly queue: WorkerQueue,
    private readonly identity: WorkerIdentity,
    private readonly executions: ExecutionService,
  ) {}

  async start(): Promise<void> {
    await this.queue.start(this.identity.maxConcurrentJobs, async (data) => {
      try {
        await this.executions.run(data);
      } catch (error) {
        this.logger.error({ err: error, jobId: data.jobId }, 'execution failed');
      }
    });
  }

  /** Stops taking new jobs (running ones go on). */
  async pause(): Promise<void> {
    await this.queue.pause();
  }

  /** Jobs the queue holds already started, waiting for a slot (see WorkerQueue.heldStartedJobIds). */
  heldStartedJobIds(): string[] {
    return this.queue.heldStartedJobIds();
  }

  /** After a clean stop: removes this worker's queue. */
  async discard(): Promise<void> {
    await this.queue.discard();
  }

  /** Replaced by another process under the same worker id: stops consuming, leaving the queue to it. */
  async letGo(): Promise<void> {
    await this.queue.letGo();
  }
}
