import { Injectable, Logger } from '@nestjs/common';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { dueTimerDelay, dueTimerKept } from './domain/scheduling.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { PlacementPass } from './placement-pass.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { WakeTimer } from './wake-timer.js';

/**
 * Owns the promotion of due pending jobs (retries after their backoff, delayed jobs at their run_at:
 * DESIGN §10) and the one timer that wakes exactly when the earliest known of them is due.
 */
@Injectable()
export class DueTimer {
  private readonly logger = new Logger('SchedulerService');
  private readonly timer = new WakeTimer(
    () => {
      if (this.tasks.isStopping) return;
      this.tasks.track(this.promoteDue().catch((error: unknown) => this.logger.error({ err: error }, 'retry promotion failed')));
    },
    (armedAt, at) => dueTimerKept(armedAt, at),
    dueTimerDelay,
  );

  constructor(
    private readonly leader: LeaderElection,
    private readonly tasks: SchedulerTasks,
    private readonly lifecycle: JobLifecycleService,
    private readonly queue: JobQueueService,
    private readonly pass: PlacementPass,
  ) {}

  /** Makes the due jobs ready, re-arms for the next one, and asks for a pass when any became ready. */
  async promoteDue(): Promise<void> {
    const promoted = await this.lifecycle.promoteDue();
    const next = await this.queue.nextRetryAt();
    this.timer.forget();
    if (next) this.arm(next.getTime());
    if (promoted.length > 0) this.pass.kick();
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
