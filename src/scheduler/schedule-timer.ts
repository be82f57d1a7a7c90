import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { JobEventBus } from '../events/job-event-bus.js';
import { ScheduleFiring } from '../schedules/schedule-firing.js';
import { LeaderElection } from '../leadership/leader-election.js';

/** Due schedules read per round. */
const ROUND = 1000;
/** Schedules handled in one transaction. */
const BATCH = 100;
/** Transactions at once. */
const PARALLEL = 2;
/** Safety net: a look for due schedules even without a timer or a signal (a lost signal only delays). */
const SWEEP_MS = 1000;
/** Longest sleep of the timer: the earliest tick may move (a change seen only by the sweep). */
const MAX_SLEEP_MS = 60_000;

/**
 * Fires recurring schedules (DESIGN §11), in the elected leader only: a timer armed for the earliest
 * `next_fire_at`, re-armed on every schedule change (schedule_update signal) and checked by a sweep
 * every second. A new leader starts with a round, which catches up what was missed while no
 * scheduler ran (the cursor in PostgreSQL tells what that is). Exactly once per tick does not rest on
 * this loop being alone: the unique (schedule_id, scheduled_for) holds through any leader change.
 */
@Injectable()
export class ScheduleTimer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ScheduleTimer.name);
  private leading = false;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private timerAt: number | null = null;
  private sweep?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private again = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly leader: LeaderElection,
    private readonly firing: ScheduleFiring,
    private readonly bus: JobEventBus,
  ) {}

  onModuleInit(): void {
    this.leader.onChange((leader) => (leader ? this.lead() : this.stepDown()));
    this.unsubscribe = this.bus.onSignal((signal) => {
      if (signal.kind !== 'schedule_update' || !this.leading) return;
      const { event } = signal.update;
      if (event === 'schedule_created' || event === 'schedule_updated' || event === 'schedule_deleted') this.run();
    });
    if (this.leader.isLeader()) this.lead();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.stepDown();
    await this.running;
  }

  private lead(): void {
    if (this.leading || this.stopping) return;
    this.leading = true;
    this.sweep = setInterval(() => this.run(), SWEEP_MS);
    this.sweep.unref();
    this.run();
  }

  private stepDown(): void {
    this.leading = false;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = null;
  }

  /** Handles every due schedule, then arms the timer for the next tick. Calls made meanwhile share one more round. */
  private run(): void {
    if (!this.leading || this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .catch((error: unknown) => this.logger.error({ err: error }, 'schedule round failed; the sweep tries again within a second'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.run();
        }
      });
  }

  private async round(): Promise<void> {
    for (;;) {
      if (!this.leading || this.stopping) return;
      const ids = await this.firing.due(ROUND);
      // Batches of BATCH schedules, each one transaction, PARALLEL at a time.
      const batches: string[][] = [];
      for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH));
      let next = 0;
      const workers = Array.from({ length: Math.min(PARALLEL, batches.length) }, async () => {
        while (next < batches.length && this.leading && !this.stopping) {
          const batch = batches[next++]!;
          try {
            await this.firing.handleDue(batch);
          } catch (error) {
            this.logger.error({ err: error, schedules: batch.length }, 'could not fire schedules; trying again at the next sweep');
          }
        }
      });
      await Promise.all(workers);
      if (ids.length < ROUND) break;
    }
    await this.arm();
  }

  private async arm(): Promise<void> {
    if (!this.leading || this.stopping) return;
    const earliest = await this.firing.earliestNextFire();
    if (!earliest) return this.clearTimer();
    const at = earliest.getTime();
    if (this.timer && this.timerAt === at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = null;
      this.run();
    }, Math.min(Math.max(0, at - Date.now()), MAX_SLEEP_MS));
    this.timer.unref();
  }
}
