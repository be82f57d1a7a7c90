import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { planPlacements, type AdmissionGate } from '../resources/domain/placement.js';
import { PlacementsService } from '../resources/placements.service.js';
import type { SizeBound } from '../resources/placement.repository.js';
import type { ReadyJob } from '../database/job-order.js';
import type { ReleasedClaim, ReleasedJob, ReleasedStarter } from '../jobs/released-starts.js';
import { drainedAfter, inReadyOrder, startsAtRelease } from './domain/released-starts.js';
import {
  anyRoom,
  byLane,
  largestRoom,
  changedReasons,
  fullWindowPlaced,
  queuedJobs,
  rateTimerDelay,
  rateTimerKept,
  type Held,
} from './domain/scheduling.js';
import { backlogAfter, fairOrder, keyedSeenAfter, leftOut, readsFairAtOnce, readsHeadFirst, servedInTurn, servedKey, withBeyond } from './domain/ready-read.js';
import { FlowControlState } from './flow-control-state.js';
import { HandOver } from './hand-over.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { SCHEDULER_TIMING } from './scheduler-timing.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { WakeTimer } from './wake-timer.js';
import { WorkerRooms } from './worker-rooms.js';
import { databaseTime } from '../common/database-time.js';

/** How many keys' last placements a leader remembers (servedInTurn); one forgotten counts as served long ago. */
const SERVED_KEYS = 10_000;
/** How many of each priority's oldest ready jobs a pass behind a full window looks at for starving ones. */
const STARVING_PER_PRIORITY = 5;
/** A look behind a full window: how many jobs it offers to the passes, among how many of the ready queue's first. */
const BEHIND_LOOK = { limit: 100, scan: 2_000 };

/**
 * Owns the placement passes (DESIGN §4, §12): one at a time, asked for by kick() and run again while
 * there may be more to place; each places the head of the ready queue (priority, then age; best
 * fit; starvation guard; the queue rules), keeps waiting reasons current, and wakes up again when a
 * rate-limited start is allowed.
 */
@Injectable()
export class PlacementPass implements ReleasedStarter {
  private readonly logger = new Logger('SchedulerService');
  private running = false;
  private again = false;
  private scheduled = false;
  // performance.now() (monotonic): a step back of the wall clock must not hold these back for as long.
  private lastReasonsAt = -Infinity;
  private lastBeyondRead = -Infinity;
  /** The last pass read a full window and left some of what it read waiting (readReady looks behind such a window). */
  private windowLeftJobs = false;
  /** The jobs the last look behind a full window found (readReady): starving, able to start now, or without a reason. */
  private beyond: ReadyJob[] = [];
  /** The last read that found jobs found a keyed one (readsFairAtOnce). */
  private keyedSeen = false;
  /** The last read's head filled the window, so the ready queue may hold more (backlogAfter). */
  private backlog = false;
  private readonly rateTimer = new WakeTimer(() => this.kick(), rateTimerKept, rateTimerDelay);
  /** The last pass left nothing ready behind it (drainedAfter): what becomes ready next is alone in the ready queue. */
  private drained = false;
  /**
   * Each key's place in the sequence of placements (servedInTurn), the least recent first in the map;
   * at most SERVED_KEYS are remembered, a key forgotten counting as served long ago.
   */
  private readonly lastServed = new Map<string, number>();
  private servedSeq = 0;
  /** While a claim stands (claim): the jobs of its completion batch, whose own events ask for no pass. */
  private claimed: ReadonlySet<string> | null = null;

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

  /**
   * A completion released `released` (ReleasedStarter): when they would be alone in the ready queue and
   * nothing is to be weighed (startsAtRelease), plans the ready ones onto workers of this process, as a
   * pass would (best fit, the ledger's bookings), to be placed and started in the completion's own
   * transaction. The claim stands for a pass: none runs until it is settled. Waits for nothing.
   */
  claim(released: readonly ReleasedJob[], completedIds: readonly string[]): ReleasedClaim | null {
    const moment = {
      leading: this.tasks.active() && this.leader.isLeader(),
      passBusy: this.running || this.scheduled,
      drained: this.drained,
      withoutRules: this.flow.withoutRules(),
    };
    if (!startsAtRelease(moment)) return null;
    const ready = inReadyOrder(released.filter((j) => j.status === 'ready'));
    const rooms = this.rooms.current()?.filter((room) => this.handOver.runsHere(room.id));
    if (ready.length === 0 || !rooms || rooms.length === 0) return null;
    const plan = planPlacements(queuedJobs(ready, databaseTime.now() - this.config.starvationSeconds * 1000), rooms);
    if (plan.placements.length === 0) return null;
    this.running = true;
    this.claimed = new Set([...completedIds, ...released.map((j) => j.id)]);
    const byId = new Map(ready.map((j) => [j.id, j]));
    return {
      epoch: this.leader.epoch(),
      placements: [...byLane(plan.placements, () => true).here].map(([workerId, ids]) => ({ workerId, ids })),
      settle: (started) => {
        try {
          for (const { workerId, jobs } of started ?? []) this.handOver.startedHere(workerId, jobs, byId);
          const startedIds = new Set((started ?? []).flatMap(({ jobs }) => jobs.map(({ job }) => job.id)));
          this.served(plan.placements.filter((p) => startedIds.has(p.jobId)).map((p) => p.jobId), ready);
          if (startedIds.size < ready.length) this.drained = false; // left ready (no room, fenced, not committed): a pass places them
        } finally {
          this.running = false;
          this.claimed = null;
          if (this.again || !this.drained) {
            this.again = false;
            this.kick();
          }
        }
      },
    };
  }

  /**
   * A job event asks for a pass (eventEffects): except the events of a standing claim's own batch.
   * Its completions freed what it planned with, its released jobs are started or left to the pass its
   * settling asks for, and the ready queue was drained before it: a pass for them would read nothing.
   */
  kickFor(jobId: string): void {
    if (this.claimed?.has(jobId)) return;
    this.kick();
  }

  /** The waiting reasons are rewritten at the next pass, not at the next refresh. */
  reasonsNow(): void {
    this.lastReasonsAt = -Infinity;
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
    this.drained = false; // until this pass has placed all it read
    const rooms = await this.rooms.forPass();
    const reasonsDue = performance.now() - this.lastReasonsAt >= SCHEDULER_TIMING.reasonRefreshMs;
    if (!anyRoom(rooms) && !reasonsDue) return false;

    // Queue rules (DESIGN §12): what they hold back as a whole stays out of the window (with its
    // reason written in bulk); the rest is admitted job by job while placing.
    const flow = await this.flow.gate(this.rooms.ledger);
    const held = flow?.heldBack();
    // Not once leadership ended meanwhile: the held gauge dropped at the step-down stays dropped.
    if (this.leader.isLeader()) await this.flow.publishHeld(held);
    // Jobs no worker could hold even empty stay out of the reads too (never-fits.ts), their reason written in bulk.
    const bound = this.rooms.sizeBound({ cpuUnits: this.config.maxCpuUnits, memoryMb: this.config.maxMemoryMb });
    const { ready, read } = await this.readReady(held, rooms, bound);
    if (held) this.armRateTimer(this.flow.nextRateRelease(flow!));
    if (ready.length === 0) {
      if (reasonsDue) {
        await this.flow.writeHeldReasons(held);
        await this.writeNeverFitReasons(bound);
        this.lastReasonsAt = performance.now();
      }
      this.drained = true;
      return false;
    }
    const queued = queuedJobs(servedInTurn(ready, this.lastServed), databaseTime.now() - this.config.starvationSeconds * 1000);
    const gate: AdmissionGate | undefined = flow && {
      check: (j) => flow.check({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
      admit: (j) => flow.admit({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
    };
    const plan = planPlacements(queued, rooms, gate);
    const placedIds = new Set(await this.handOver.carryOut(plan.placements, ready, epoch));
    this.served(plan.placements.filter((p) => placedIds.has(p.jobId)).map((p) => p.jobId), ready); // in the plan's order
    const placed = placedIds.size;
    this.drained = drainedAfter(read, placed, SCHEDULER_TIMING.passWindow);
    this.windowLeftJobs = read === SCHEDULER_TIMING.passWindow && placed < ready.length;

    if (reasonsDue) {
      await this.placements.setWaitingReasons(changedReasons(ready, plan.waiting));
      await this.flow.writeHeldReasons(flow?.heldBack());
      await this.writeNeverFitReasons(bound);
      this.lastReasonsAt = performance.now();
    }
    return fullWindowPlaced(placed, read, SCHEDULER_TIMING.passWindow);
  }

  /**
   * The head of the ready queue in fair order (readsHeadFirst): the plain head, ordered here when it
   * is the whole ready set; the fair query when a backlog may hide earlier turns or held jobs fill the head.
   * `read` is how many the window read; `ready` adds what a look behind a full window found.
   */
  private async readReady(held: Held | undefined, rooms: Parameters<typeof largestRoom>[0], bound: SizeBound): Promise<{ ready: ReadyJob[]; read: number }> {
    const window = SCHEDULER_TIMING.passWindow;
    const head = readsHeadFirst(held, this.keyedSeen, this.backlog) ? await this.placements.readyQueue(window, bound) : null;
    let ready: ReadyJob[];
    if (head && head.length < window) ready = fairOrder(head, leftOut(held), window);
    else if (head && !readsFairAtOnce(held, this.keyedSeen) && !head.some((j) => j.concurrencyKey !== null) && !(await this.queue.anyKeyedReady())) ready = head;
    else ready = await this.queue.fairReadyQueue(window, leftOut(held), bound);
    this.backlog = backlogAfter(head?.length ?? null, ready.length, window);
    this.keyedSeen = keyedSeenAfter(ready, this.keyedSeen);
    // A full window may leave out, for as long as a backlog fills it, jobs of lower priority that starve,
    // smaller jobs that would fit where the window's do not, and jobs no pass gave a reason. Once a
    // second, look for those behind it, and offer them to every pass until the next look (placing is
    // guarded: one placed, cancelled or started meanwhile is simply not placed again).
    if (ready.length < window) {
      this.beyond = [];
      return { ready, read: ready.length };
    }
    if (performance.now() - this.lastBeyondRead >= SCHEDULER_TIMING.reasonRefreshMs) {
      this.lastBeyondRead = performance.now();
      const starving = await this.placements.starvingHeads(STARVING_PER_PRIORITY, new Date(databaseTime.now() - this.config.starvationSeconds * 1000), bound, leftOut(held));
      // Only behind a window that left jobs waiting: one whose jobs were all placed is followed by a pass
      // over the next window at once.
      const behind = this.windowLeftJobs
        ? await this.placements.behindWindow({
            ...BEHIND_LOOK,
            excluded: ready.map((j) => j.id),
            room: largestRoom(rooms),
            unexplainedSince: new Date(databaseTime.now() - SCHEDULER_TIMING.reasonRefreshMs),
            bound,
            held: leftOut(held),
          })
        : [];
      this.beyond = [...starving, ...behind];
    }
    return { ready: this.beyond.length === 0 ? ready : withBeyond(ready, this.beyond, leftOut(held)), read: ready.length };
  }

  /** Gives every ready job beyond `bound` (no worker could hold it: never-fits.ts) its reason, where it differs. */
  private async writeNeverFitReasons(bound: SizeBound): Promise<void> {
    if (!bound) return;
    const sizes = await this.placements.neverFitSizes(bound);
    await this.placements.setNeverFitReasons(sizes.map((size) => ({ ...size, reason: this.rooms.neverFitReason(size) })));
  }

  /** Remembers the keys of the jobs placed (a pass's, or a claim's started ones), in their order, as the most recently served. */
  private served(placedIds: readonly string[], ready: readonly ReadyJob[]): void {
    if (placedIds.length === 0) return;
    const keys = new Map(ready.map((j) => [j.id, j.concurrencyKey]));
    for (const jobId of placedIds) {
      const key = servedKey(keys.get(jobId) ?? null);
      this.lastServed.delete(key); // re-inserted last: the map stays ordered from least to most recent
      this.lastServed.set(key, ++this.servedSeq);
    }
    for (const key of this.lastServed.keys()) {
      if (this.lastServed.size <= SERVED_KEYS) break;
      this.lastServed.delete(key);
    }
  }

  /** Wakes the scheduler when the next rate-limited start is allowed. */
  private armRateTimer(at: number | null): void {
    if (at === null || !this.leader.isLeader()) return;
    this.rateTimer.arm(at);
  }
}
