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

  /**
   * Each step on its own: one that fails (Redis down fails the hand-overs, for as long as it is down)
   * is logged and the sweep goes on with the others, which need PostgreSQL only: stuck cancels, due
   * jobs and the pass with its ledger rebuilt would otherwise wait for Redis too. Placements are
   * judged only on a fresh read of the workers (one just declared lost must not be handed any again).
   * A step that finds another leader ends the sweep.
   */
  private async sweep(): Promise<void> {
    if (!this.tasks.active()) return;
    const epoch = this.leader.epoch();
    // Three steps: one whose failure cannot be stored (a final failure cascading past the statement
    // timeout) must not keep the others from reaping the rest of the cluster's lost work.
    await this.step('reaping lost workers', async () => {
      if (await this.reaper.reapSilentWorkers(epoch)) this.rooms.markAllStale();
    });
    await this.step('reaping orphaned jobs', async () => {
      if ((await this.reaper.reapOrphans()) > 0) this.rooms.ledger.stale = true;
    });
    await this.step('reaping jobs no worker executes', async () => {
      if ((await this.reaper.reapUnexecuted()) > 0) this.rooms.ledger.stale = true;
    });
    const workersRead = await this.step('reading the workers', () => this.rooms.refresh());
    // The queue rules are read again once a sweep: here, so that the placements taken back below and
    // this sweep's pass judge by the same rules.
    await this.step('reading the queue rules and counts', () => this.flow.sweep());
    if (workersRead) await this.step('handing over placements not started', async () => {
      const placements = await this.reaper.reconcilePlacements(this.rooms.liveIds(), await this.flow.regatedTypes(this.rooms.ledger), epoch);
      this.rooms.passOver(placements.passOver);
      if (placements.takenBack > 0) this.rooms.ledger.stale = true;
    });
    await this.step('releasing stuck cancels', () => this.reaper.releaseStaleCancels());
    await this.step('promoting due jobs', () => this.due.promoteDue());
    await this.step('placing', async () => {
      // The safety net: the ledger is rebuilt from the table once a second, by the sweep's own pass
      // when it can (marked just before it, so that passes placing submitted jobs rarely pay the read).
      this.rooms.ledger.stale = true;
      await this.pass.run();
      // Leadership may have ended during the pass: the gauges it dropped then are not published again.
      if (this.leader.isLeader()) this.rooms.observe();
    });
    await this.statistics.refreshGrown().then(
      (analyzed) => analyzed.length > 0 && this.logger.debug({ tables: analyzed }, 'analyzed tables that outgrew their statistics'),
      (error: unknown) => this.logger.warn({ err: error }, 'could not refresh table statistics; the next sweep tries again'),
    );
  }

  /** Runs one step of a sweep while this process leads; a failure is logged, not thrown. Returns whether it ran through. */
  private async step(name: string, work: () => Promise<unknown>): Promise<boolean> {
    if (!this.tasks.active()) return false;
    try {
      await work();
      return true;
    } catch (error) {
      if (!this.tasks.relinquishedOn(error)) this.logger.error({ err: error, step: name }, `scheduler sweep failed at ${name}; its other steps go on`);
      return false;
    }
  }
}
