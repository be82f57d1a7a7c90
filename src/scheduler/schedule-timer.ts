import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { JobEventBus } from '../events/job-event-bus.js';
import { ScheduleFiring } from '../schedules/schedule-firing.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { databaseTime } from '../common/database-time.js';

/** Most schedules claimed and handled in one transaction. */
const BATCH = 250;
/**
 * Firing transactions at once. Each claims its own due schedules (SKIP LOCKED), so 1,000 schedules due
 * at one instant are fired by four transactions that run side by side, not one after the other.
 */
const PARALLEL = 4;
/** Safety net: a look for due schedules even without a timer or a signal (a lost signal only delays). */
const SWEEP_MS = 1000;
/** Wait before looking again at a due schedule a round left behind. */
const RETRY_MS = 50;
/** Longest sleep of the timer: the earliest tick may move (a change seen only by the sweep). */
const MAX_SLEEP_MS = 60_000;

/**
 * How long the timer sleeps before firing the tick due at `at` (ms since the epoch), seen at `now` after a
 * round that began at `roundBegan`: until the tick, at most MAX_SLEEP_MS; RETRY_MS for a tick that was
 * already due when the round began (the round left it behind: its schedule was locked, or a batch failed).
 */
export function armDelay(at: number, now: number, roundBegan: number): number {
  if (at <= roundBegan) return RETRY_MS;
  return Math.min(Math.max(0, at - now), MAX_SLEEP_MS);
}

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
  /** When this process began to lead: ticks after it are this scheduler's own, late at worst, never missed. */
  private leadingSince: Date | null = null;
  /** The leadership epoch of this process's last term (null: none yet, or a leadership without epochs). */
  private lastEpoch: number | null = null;
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

  /** When this process began to lead the schedules (its term's start), or null while it does not lead them. */
  termStart(): Date | null {
    return this.leading ? this.leadingSince : null;
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
    // The term goes on when this process takes the leadership back with nobody between (the next
    // epoch): a lease lost to a slow or restarting database. Its ticks due meanwhile are late, not
    // missed, so catch_up does not drop them; after another leader's term, they were that one's.
    const epoch = this.leader.epoch();
    const resumed = this.leadingSince !== null && epoch !== null && this.lastEpoch !== null && epoch === this.lastEpoch + 1;
    if (!resumed) this.leadingSince = databaseTime.date();
    this.lastEpoch = epoch;
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

  /** PARALLEL claimers, each firing batches of due schedules until none is left due; then the timer. */
  private async round(): Promise<void> {
    const claimer = async (): Promise<void> => {
      // Asked before each batch: a process that froze past its lease may run a round before it hears that
      // it was deposed, and would fire the outage's ticks as its own late ones, whatever catch_up says.
      for (let term = this.termStart(); term && !this.stopping && this.leader.isLeader(); term = this.termStart()) {
        try {
          const { claimed } = await this.firing.handleDue(BATCH, term);
          if (claimed < BATCH) return;
        } catch (error) {
          this.logger.error({ err: error }, 'could not fire schedules; trying again at the next sweep');
          return;
        }
      }
    };
    const began = databaseTime.now();
    await Promise.all(Array.from({ length: PARALLEL }, claimer));
    await this.arm(began);
  }

  /**
   * Arms the timer for the earliest next tick. One that was already due when the round began was left
   * behind (its schedule locked by a change, or a failed batch): looked at again after RETRY_MS, not at
   * once, so a lock held a while does not spin the loop.
   */
  private async arm(roundBegan: number): Promise<void> {
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
    }, armDelay(at, databaseTime.now(), roundBegan));
    this.timer.unref();
  }
}
