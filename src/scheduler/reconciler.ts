import { Injectable, Logger } from '@nestjs/common';
import { TableStatistics } from '../database/table-statistics.js';
import { DueTimer } from './due-timer.js';
import { FlowControlState } from './flow-control-state.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { LostWorkReaper } from './lost-work-reaper.js';
import { PlacementPass } from './placement-pass.js';
import { SCHEDULER_TIMING } from './scheduler-timing.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { WorkerRooms } from './worker-rooms.js';

/**
 * Owns the leader's periodic sweep, the safety net under the event-driven passes: lost workers and
 * lost work (LostWorkReaper), placements never started, stuck cancels, due jobs, the queue rules
 * and counts, a pass with the ledger rebuilt, the worker metrics; then the planner statistics.
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger('SchedulerService');
  private timer?: NodeJS.Timeout;
  /** A sweep is under way: the next tick of the timer does not start another beside it. */
  private sweeping = false;

  constructor(
    private readonly leader: LeaderElection,
    private readonly tasks: SchedulerTasks,
    private readonly reaper: LostWorkReaper,
    private readonly rooms: WorkerRooms,
    private readonly due: DueTimer,
    private readonly flow: FlowControlState,
    private readonly pass: PlacementPass,
    private readonly statistics: TableStatistics,
  ) {}

  /** Sweeps now and every SCHEDULER_TIMING.sweepMs, until stop(). */
  start(): void {
    this.timer = setInterval(() => this.tasks.track(this.sweepAlone()), SCHEDULER_TIMING.sweepMs);
    this.timer.unref();
    this.tasks.track(this.sweepAlone());
  }

  /**
   * One sweep at a time: a sweep slowed down (PostgreSQL slow, a statement waiting) is not joined by
   * one more every second, each holding a pooled connection, until the pool has none for the API.
   */
  private async sweepAlone(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.sweep();
    } finally {
      this.sweeping = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sweep(): Promise<void> {
    if (!this.tasks.active()) return;
    const epoch = this.leader.epoch();
    try {
      if (await this.reaper.reapSilentWorkers(epoch)) this.rooms.markAllStale();
      if ((await this.reaper.reapOrphans()) + (await this.reaper.reapUnexecuted()) > 0) this.rooms.ledger.stale = true;
      await this.rooms.refresh();
      // The queue rules are read again once a sweep: here, so that the placements taken back below and
      // this sweep's pass judge by the same rules.
      await this.flow.sweep();
      const placements = await this.reaper.reconcilePlacements(this.rooms.liveIds(), await this.flow.rateLimitedTypes(), epoch);
      this.rooms.passOver(placements.passOver);
      if (placements.takenBack > 0) this.rooms.ledger.stale = true;
      await this.reaper.releaseStaleCancels();
      await this.due.promoteDue();
      // The safety net: the ledger is rebuilt from the table once a second, by the sweep's own pass
      // when it can (marked just before it, so that passes placing submitted jobs rarely pay the read).
      this.rooms.ledger.stale = true;
      await this.pass.run();
      this.rooms.observe();
    } catch (error) {
      if (!this.tasks.relinquishedOn(error)) this.logger.error({ err: error }, 'scheduler sweep failed');
    }
    await this.statistics.refreshGrown().then(
      (analyzed) => analyzed.length > 0 && this.logger.debug({ tables: analyzed }, 'analyzed tables that outgrew their statistics'),
      (error: unknown) => this.logger.warn({ err: error }, 'could not refresh table statistics; the next sweep tries again'),
    );
  }
}
