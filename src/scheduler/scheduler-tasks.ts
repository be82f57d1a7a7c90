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

  /**
   * A fenced statement found another leader: step down at once (true), or it was another error
   * (false). A statement of an earlier term of this process (a pass or sweep that outlived it, the
   * process having led again since) says nothing of the current term: it is handled without stepping
   * down, or a slow database would make a leader that just took over give up again.
   */
  relinquishedOn(error: unknown): boolean {
    if (!(error instanceof LeadershipLostError)) return false;
    if (error.epoch !== null && error.epoch !== this.leader.epoch()) {
      this.logger.warn({ epoch: error.epoch, current: this.leader.epoch() }, 'work of an earlier term was fenced off; this term goes on');
      return true;
    }
    this.logger.warn({ epoch: error.epoch }, 'another scheduler leads now: stepping down');
    this.leader.relinquish(error.message);
    return true;
  }
}
