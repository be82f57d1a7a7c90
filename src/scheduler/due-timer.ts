import { Injectable, Logger } from '@nestjs/common';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { dueTimerDelay, dueTimerKept, PROMOTE_BATCH, promoteAgainAfterRead, promoteAgainAtOnce } from './domain/scheduling.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { PlacementPass } from './placement-pass.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { WakeTimer } from './wake-timer.js';

/**
 * Owns the promotion of due pending jobs (retries after their backoff, delayed jobs at their run_at:
 * DESIGN §10) and the one timer that wakes exactly when the earliest known of them is due.
 *
 * One promotion runs at a time. A wake-up (the timer, the sweep) that comes while one runs does not
 * start a second one competing for the same rows, nor wait for it: it makes the running one go round
 * once more. A round that promoted a full batch goes round again at once; one that found fewer reads
 * the next due time, goes round again when that is past already, else arms the timer for it. So jobs
 * coming due in a burst are promoted by back-to-back set-based statements, each taking all that came
 * due while the previous one ran, with no timer in between.
 */
@Injectable()
export class DueTimer {
  private readonly logger = new Logger('SchedulerService');
  private readonly timer = new WakeTimer(
    () => {
      if (this.tasks.isStopping) return;
      this.tasks.track(this.promoteDue().catch((error: unknown) => this.logger.error({ err: error }, 'due promotion failed')));
    },
    (armedAt, at) => dueTimerKept(armedAt, at),
    dueTimerDelay,
  );
  private running: Promise<void> | null = null;
  private wokenMeanwhile = false;

  constructor(
    private readonly leader: LeaderElection,
    private readonly tasks: SchedulerTasks,
    private readonly lifecycle: JobLifecycleService,
    private readonly queue: JobQueueService,
    private readonly pass: PlacementPass,
  ) {}

  /**
   * Makes the due jobs ready, round after round while more are due, re-arms for the next one, and
   * asks for a pass after each round that made any ready. With a promotion under way, asks it for one
   * more round and returns at once.
   */
  promoteDue(): Promise<void> {
    if (this.running) {
      this.wokenMeanwhile = true;
      return Promise.resolve();
    }
    const run = this.rounds().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private async rounds(): Promise<void> {
    for (;;) {
      this.wokenMeanwhile = false;
      const promoted = (await this.lifecycle.promoteDue(PROMOTE_BATCH)).length;
      if (promoted > 0) this.pass.kick();
      if (this.tasks.isStopping || !this.leader.isLeader()) return;
      if (promoteAgainAtOnce(promoted, PROMOTE_BATCH, this.wokenMeanwhile)) continue;
      const next = (await this.queue.nextRetryAt())?.getTime() ?? null;
      if (this.tasks.isStopping || !this.leader.isLeader()) return;
      if (promoteAgainAfterRead(promoted, next, Date.now(), this.wokenMeanwhile)) continue;
      this.timer.forget();
      if (next !== null) this.arm(next);
      return;
    }
  }

  /** Wakes the scheduler when a job pending until `at` is due, unless it wakes earlier already. */
  arm(at: number): void {
    if (!this.leader.isLeader()) return;
    this.timer.arm(at);
  }

  stop(): void {
    this.timer.stop();
  }
}
