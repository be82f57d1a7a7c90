import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobDeletionService } from '../jobs/job-deletion.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { pauseAfterBatch } from './domain/retention-pace.js';
import { LeaderElection } from '../leadership/leader-election.js';

/**
 * Retention (DESIGN §13), run by the elected leader only: every RETENTION_INTERVAL_MS it deletes the
 * finished jobs past RETENTION_COMPLETED_SECONDS / RETENTION_FAILED_SECONDS (0 = kept forever), with
 * their logs and edges, in batches of at most RETENTION_BATCH_SIZE (≤ 1,000) jobs, in short
 * transactions, until none is left; never a job an unfinished job depends on. Between two batches it
 * pauses so that its batches take at most RETENTION_BUSY_PERCENT of the time, and at least
 * RETENTION_PAUSE_MS (domain/retention-pace.ts). A batch goes on where the previous one stopped in the
 * index (JobDeletionRepository.deleteExpired) and comes back short only at the end of it, so the jobs that
 * must stay (a failed dependent may still be retried) are read once a pass, not once a batch.
 * The same pass forgets workers stopped or lost more than WORKER_RETENTION_SECONDS ago, so that
 * restarts do not pile up in GET /workers.
 */
@Injectable()
export class RetentionService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(RetentionService.name);
  private timer?: NodeJS.Timeout;
  private leading = false;
  private running: Promise<void> | null = null;
  private stopping = false;
  private endPause?: () => void;

  constructor(
    private readonly config: AppConfig,
    private readonly leader: LeaderElection,
    private readonly deletions: JobDeletionService,
    private readonly resources: ResourcesService,
  ) {}

  onModuleInit(): void {
    const { completedSeconds, failedSeconds } = this.config.retention;
    if (completedSeconds === 0 && failedSeconds === 0 && this.config.workerRetentionSeconds === 0) return; // keep everything forever
    this.leader.onChange((leader) => (leader ? this.lead() : this.stepDown()));
    if (this.leader.isLeader()) this.lead();
  }

  /** Before the database pool closes (in an onApplicationShutdown hook): the batch under way ends first. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.stepDown();
    await this.running;
  }

  /** One pass: batches until one comes back short (nothing more is due), or leadership or the process ends. */
  private async runOnce(): Promise<number> {
    if (!this.leading || this.stopping) return 0;
    await this.forgetGoneWorkers();
    const { completedSeconds, failedSeconds, batchSize, pauseMs, busyPercent } = this.config.retention;
    let total = 0;
    if (completedSeconds === 0 && failedSeconds === 0) return total;
    const started = performance.now();
    while (this.leading && !this.stopping) {
      const batchStarted = performance.now();
      const deleted = await this.deletions.deleteExpiredBatch(completedSeconds, failedSeconds, batchSize);
      total += deleted;
      if (deleted < batchSize) break;
      const pause = pauseAfterBatch(performance.now() - batchStarted, { batchSize, minPauseMs: pauseMs, busyPercent });
      await this.pause(pause);
    }
    if (total > 0) {
      const seconds = (performance.now() - started) / 1000;
      this.logger.log({ deleted: total, seconds: Math.round(seconds * 10) / 10 }, 'retention: deleted finished jobs past their retention');
    }
    return total;
  }

  /** Deletes the workers stopped or lost more than WORKER_RETENTION_SECONDS ago (0 = keep them). */
  async forgetGoneWorkers(): Promise<string[]> {
    if (this.config.workerRetentionSeconds === 0) return [];
    const forgotten = await this.resources.forgetGoneWorkers(this.config.workerRetentionSeconds);
    if (forgotten.length > 0) this.logger.log({ workers: forgotten }, 'retention: forgot stopped and lost workers past WORKER_RETENTION_SECONDS');
    return forgotten;
  }

  /** A pass of an earlier term still under way goes on in this one and schedules the next itself: never two at once. */
  private lead(): void {
    if (this.leading || this.stopping) return;
    this.leading = true;
    if (!this.running) this.schedule(0);
  }

  private stepDown(): void {
    this.leading = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.endPause?.();
  }

  /** A pause between two batches, cut short when leadership or the process ends. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.endPause = done;
    }).finally(() => (this.endPause = undefined));
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.error({ err: error }, 'retention pass failed; trying again next interval'))
        .finally(() => {
          this.running = null;
          if (this.leading && !this.stopping) this.schedule(this.config.retention.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
