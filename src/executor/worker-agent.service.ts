import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobEventBus } from '../events/job-event-bus.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { ExecutionProcessor } from './execution.processor.js';
import { ExecutionService } from './execution.service.js';
import { WorkerIdentity } from './worker-identity.js';

/**
 * The worker's life (DESIGN §4, §5): registers its capacity, heartbeats, consumes its queue, and on
 * SIGTERM drains: stops taking work, lets running jobs finish within SHUTDOWN_GRACE_MS, releases the
 * rest for a retry elsewhere, and deregisters.
 */
@Injectable()
export class WorkerAgent implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerAgent.name);
  private heartbeatTimer?: NodeJS.Timeout;
  private beating = false;
  /** Set when shutdown begins: from then on the worker never registers again. */
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly identity: WorkerIdentity,
    private readonly resources: ResourcesService,
    private readonly queue: JobQueueService,
    private readonly processor: ExecutionProcessor,
    private readonly executions: ExecutionService,
    private readonly bus: JobEventBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.register();
    await this.processor.start();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.config.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    this.logger.log(
      `worker ${this.identity.id} ready: ${this.identity.maxConcurrentJobs} slots, ${this.identity.maxCpuUnits} cpu units, ${this.identity.maxMemoryMb} MB`,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    // Heartbeats go on while draining: a worker finishing its jobs must not be declared lost.
    try {
      await this.resources.setStatus(this.identity.id, 'draining');
      await this.signal();
      await this.processor.pause();
      const left = await this.executions.waitIdle(this.config.shutdownGraceMs);
      if (left.length > 0) {
        this.logger.warn({ jobs: left.map((j) => j.id) }, 'shutdown grace period over: releasing running jobs for a retry');
        for (const job of left) this.executions.stop(job.id, 'shutdown');
        await this.executions.waitIdle(5000);
      }
      const placed = (await this.queue.allocatedOn([this.identity.id])).filter((j) => j.status === 'ready');
      await this.queue.unplace(placed.map((j) => j.id));
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      await this.resources.setStatus(this.identity.id, 'stopped');
      await this.signal();
      await this.processor.discard();
    } catch (error) {
      this.logger.error({ err: error }, 'worker shutdown did not complete cleanly; the scheduler will declare it lost');
    } finally {
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    }
  }

  private async register(): Promise<void> {
    await this.resources.register(this.identity);
    await this.signal();
  }

  private async heartbeat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const alive = await this.resources.heartbeat(this.identity.id);
      if (!alive) {
        // Declared lost (e.g. after a long pause): its jobs were failed and will run elsewhere.
        for (const job of this.executions.runningJobs()) this.executions.stop(job.id, 'lost');
        // A beat in flight when shutdown marked the worker stopped lands here too: a stopping worker
        // must not register again (it would be shown active, and be given work, as it exits).
        if (this.stopping) return;
        this.logger.warn('this worker was declared lost: abandoning its running jobs and registering again');
        await this.register();
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'heartbeat failed');
    } finally {
      this.beating = false;
    }
  }

  private async signal(): Promise<void> {
    await this.bus.signal({ kind: 'workers_changed', workerId: this.identity.id }).catch(() => undefined);
  }
}
