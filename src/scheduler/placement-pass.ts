import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { planPlacements, type AdmissionGate } from '../resources/domain/placement.js';
import { PlacementsService } from '../resources/placements.service.js';
import type { ReadyJob } from '../database/job-order.js';
import {
  anyRoom,
  changedReasons,
  fullWindowPlaced,
  queuedJobs,
  rateTimerDelay,
  rateTimerKept,
  type Held,
} from './domain/scheduling.js';
import { backlogAfter, fairOrder, keyedSeenAfter, leftOut, readsFairAtOnce, readsHeadFirst } from './domain/ready-read.js';
import { FlowControlState } from './flow-control-state.js';
import { HandOver } from './hand-over.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { SCHEDULER_TIMING } from './scheduler-timing.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { WakeTimer } from './wake-timer.js';
import { WorkerRooms } from './worker-rooms.js';

/**
 * Owns the placement passes (DESIGN §4, §12): one at a time, asked for by kick() and run again while
 * there may be more to place; each places the head of the ready queue (priority, then age; best
 * fit; starvation guard; the queue rules), keeps waiting reasons current, and wakes up again when a
 * rate-limited start is allowed.
 */
@Injectable()
export class PlacementPass {
  private readonly logger = new Logger('SchedulerService');
  private running = false;
  private again = false;
  private scheduled = false;
  private lastReasonsAt = 0;
  /** The last read that found jobs found a keyed one (readsFairAtOnce). */
  private keyedSeen = false;
  /** The last read's head filled the window, so the ready queue may hold more (backlogAfter). */
  private backlog = false;
  private readonly rateTimer = new WakeTimer(() => this.kick(), rateTimerKept, rateTimerDelay);

  constructor(
    private readonly config: AppConfig,
    private readonly leader: LeaderElection,
    private readonly tasks: SchedulerTasks,
    private readonly queue: JobQueueService,
    private readonly placements: PlacementsService,
    private readonly rooms: WorkerRooms,
    private readonly flow: FlowControlState,
    private readonly handOver: HandOver,
  ) {}

  /** Asks for a placement pass soon; calls made meanwhile share it. */
  kick(): void {
    if (!this.tasks.active()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (!this.tasks.isStopping) this.tasks.track(this.run());
    });
  }

  /** The waiting reasons are rewritten at the next pass, not at the next refresh. */
  reasonsNow(): void {
    this.lastReasonsAt = 0;
  }

  /** Leadership ended: no rate wake-up any more. */
  stop(): void {
    this.rateTimer.stop();
  }

  /** Runs passes until there is nothing more to place now (none when one is running already). */
  async run(): Promise<void> {
    if (this.running || !this.leader.isLeader()) return;
    this.running = true;
    try {
      do {
        this.again = false;
        const full = await this.placeOnce();
        if (full) this.again = true; // a full window: there may be more to place
      } while (this.again && this.tasks.active());
    } catch (error) {
      if (!this.tasks.relinquishedOn(error)) this.logger.error({ err: error }, 'scheduling pass failed; the sweep will retry');
    } finally {
      this.running = false;
    }
  }

  /** One placement round over the head of the ready queue. Returns true when it placed from a full window. */
  private async placeOnce(): Promise<boolean> {
    // Every write of this round is fenced by the epoch of the term it was planned in.
    const epoch = this.leader.epoch();
    const rooms = await this.rooms.forPass();
    const reasonsDue = Date.now() - this.lastReasonsAt >= SCHEDULER_TIMING.reasonRefreshMs;
    if (!anyRoom(rooms) && !reasonsDue) return false;

    // Queue rules (DESIGN §12): what they hold back as a whole stays out of the window (with its
    // reason written in bulk); the rest is admitted job by job while placing.
    const flow = await this.flow.gate(this.rooms.ledger);
    const held = flow?.heldBack();
    await this.flow.publishHeld(held, reasonsDue);
    const ready = await this.readReady(held);
    if (held) this.armRateTimer(this.flow.nextRateRelease(flow!));
    if (ready.length === 0) {
      if (reasonsDue) this.lastReasonsAt = Date.now();
      return false;
    }
    const queued = queuedJobs(ready, Date.now() - this.config.starvationSeconds * 1000);
    const gate: AdmissionGate | undefined = flow && {
      check: (j) => flow.check({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
      admit: (j) => flow.admit({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
    };
    const plan = planPlacements(queued, rooms, gate);
    const placed = await this.handOver.carryOut(plan.placements, ready, epoch);

    if (reasonsDue) {
      await this.placements.setWaitingReasons(changedReasons(ready, plan.waiting));
      this.lastReasonsAt = Date.now();
    }
    return fullWindowPlaced(placed, ready.length, SCHEDULER_TIMING.passWindow);
  }

  /**
   * The head of the ready queue in fair order (readsHeadFirst): the plain head, ordered here when it
   * is the whole ready set; the fair query when a backlog may hide earlier turns or held jobs fill the head.
   */
  private async readReady(held: Held | undefined): Promise<ReadyJob[]> {
    const window = SCHEDULER_TIMING.passWindow;
    const head = readsHeadFirst(held, this.keyedSeen, this.backlog) ? await this.placements.readyQueue(window) : null;
    let ready: ReadyJob[];
    if (head && head.length < window) ready = fairOrder(head, leftOut(held), window);
    else if (head && !readsFairAtOnce(held, this.keyedSeen) && !head.some((j) => j.concurrencyKey !== null) && !(await this.queue.anyKeyedReady())) ready = head;
    else ready = await this.queue.fairReadyQueue(window, leftOut(held));
    this.backlog = backlogAfter(head?.length ?? null, ready.length, window);
    this.keyedSeen = keyedSeenAfter(ready, this.keyedSeen);
    return ready;
  }

  /** Wakes the scheduler when the next rate-limited start is allowed. */
  private armRateTimer(at: number | null): void {
    if (at === null || !this.leader.isLeader()) return;
    this.rateTimer.arm(at);
  }
}
