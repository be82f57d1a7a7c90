import { Injectable, Logger } from '@nestjs/common';
import { LeadershipLostError } from '../resources/placements.service.js';
import { LeaderElection } from '../leadership/leader-election.js';

/**
 * Owns the scheduler's work under way (passes, sweeps, due promotions) so that shutdown can wait
 * for it, whether shutdown has begun, and stepping down when a fenced statement found another leader.
 */
@Injectable()
export class SchedulerTasks {
  private readonly logger = new Logger('SchedulerService');
  private readonly inflight = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(private readonly leader: LeaderElection) {}

  /** Whether this process leads and is not shutting down: only then does new scheduler work start. */
  active(): boolean {
    return this.leader.isLeader() && !this.stopping;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Runs scheduler work so that shutdown can wait for it. */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      (error: unknown) => this.logger.error({ err: error }, 'scheduler task failed'),
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
  }

  /** No new work starts from now on. */
  stop(): void {
    this.stopping = true;
  }

  /** Waits for the work under way, including work it starts meanwhile. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** A fenced statement found another leader: step down at once (true), or it was another error (false). */
  relinquishedOn(error: unknown): boolean {
    if (!(error instanceof LeadershipLostError)) return false;
    this.logger.warn({ epoch: error.epoch }, 'another scheduler leads now: stepping down');
    this.leader.relinquish(error.message);
    return true;
  }
}
