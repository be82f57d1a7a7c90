import { Injectable, Logger } from '@nestjs/common';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { dueTimerDelay, dueTimerKept, dueWakeAt, promoteAgainAfterRead, promoteAgainAtOnce, promoteRoundLimit, promoteRowCost } from './domain/scheduling.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { PlacementPass } from './placement-pass.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { WakeTimer } from './wake-timer.js';
import { databaseTime } from '../common/database-time.js';

/** The earlier of two times, either of which may be unknown. */
const earliest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * Owns the promotion of due pending jobs (retries after their backoff, delayed jobs at their run_at:
 * DESIGN §10) and the one timer that wakes exactly when the earliest known of them is due.
 *
 * One promotion runs at a time. A wake-up (the timer, the sweep) that comes while one runs does not
 * start a second one competing for the same rows, nor wait for it: it makes the running one go round
 * once more. A round that promoted a full batch goes round again at once; one that found fewer reads
 * the next due time, goes round again when that is past already, else arms the timer for it. So jobs
 * coming due in a burst are promoted by back-to-back set-based statements, each taking what came due
 * while the previous one ran, with no timer in between. A round takes at most as many jobs as it
 * can promote in PROMOTE_ROUND_MS at the row cost the rounds before it measured (it grows when the
 * jobs it releases compete for the database and the thread): its events leave when it ends, so a
 * short round keeps each job's wait short, and a backlog leaves earliest first in short rounds.
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
  /** The earliest time armed while a round ran: the round's own re-arm keeps it (it may have read before that job). */
  private armedMeanwhile: number | null = null;
  /** What a promoted row costs now (ms; statement and publish), measured by the rounds: it sizes the next one. */
  private rowMs: number | null = null;

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
      this.armedMeanwhile = null;
      const limit = promoteRoundLimit(this.rowMs);
      const startedAt = performance.now();
      const promoted = (await this.lifecycle.promoteDue(limit)).length;
      this.rowMs = promoteRowCost(this.rowMs, promoted, performance.now() - startedAt);
      if (promoted > 0) this.pass.kick();
      if (this.tasks.isStopping || !this.leader.isLeader()) return;
      if (promoteAgainAtOnce(promoted, limit, this.wokenMeanwhile)) continue;
      const next = (await this.queue.nextRetryAt())?.getTime() ?? null;
      if (this.tasks.isStopping || !this.leader.isLeader()) return;
      if (promoteAgainAfterRead(promoted, next, databaseTime.now(), this.wokenMeanwhile)) continue;
      this.timer.forget();
      const at = earliest(dueWakeAt(next, promoted, databaseTime.now()), this.armedMeanwhile);
      if (at !== null) this.arm(at);
      return;
    }
  }

  /** Wakes the scheduler when a job pending until `at` is due, unless it wakes earlier already. */
  arm(at: number): void {
    if (!this.leader.isLeader()) return;
    if (this.running) this.armedMeanwhile = earliest(this.armedMeanwhile, at);
    this.timer.arm(at);
  }

  stop(): void {
    this.timer.stop();
  }
}
