import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { TableStatistics } from '../database/table-statistics.js';
import { JobDispatcher } from '../dispatch/job-dispatcher.js';
import { JobEventBus, type ClusterSignal, type JobEvent } from '../events/job-event-bus.js';
import { Metrics } from '../metrics/metrics.js';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { JobQueueService, LeadershipLostError } from '../jobs/job-queue.service.js';
import type { Worker } from '../resources/entities/worker.entity.js';
import { planPlacements, type AdmissionGate, type QueuedJob, type WorkerRoom } from '../resources/domain/placement.js';
import { QueuesService } from '../queues/queues.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { AllocationLedger } from './allocation-ledger.js';
import { FlowGate, hasRules, pairKey, StartLog, type QueueRules } from './domain/flow-control.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { LostWorkReaper } from './lost-work-reaper.js';
import { SCHEDULER_TIMING } from './scheduler-timing.js';

/**
 * Longest a promotion timer is set for. A delayed job may be years ahead, and Node fires a longer
 * timeout at once; a timer that fires early finds nothing due and re-arms for what is.
 */
const MAX_TIMER_MS = 3_600_000;

/** Events after which there may be something to place. */
const TRIGGERS = new Set<JobEvent['event']>(['job_ready', 'job_completed', 'job_failed', 'job_timeout', 'job_cancelled']);
/** Events of a job leaving running, which frees its booking (job_cancelled is rebuilt from the table). */
const RELEASES = new Set<JobEvent['event']>(['job_completed', 'job_failed', 'job_timeout']);

/**
 * The scheduler (DESIGN §4), active only in the elected leader: promotes due retries and delayed jobs, places ready
 * jobs (priority, then age; best fit; starvation guard), hands them to their workers, keeps waiting
 * reasons current, and repairs lost work (LostWorkReaper) and placements that never started. It
 * reacts to events within milliseconds; the periodic sweep is the safety net. Its placements are
 * fenced by the leadership epoch (LeaderElection), so a leader deposed without knowing it yet
 * places nothing.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SchedulerService.name);
  private workers: Worker[] = [];
  private readonly ledger = new AllocationLedger();
  private workersStale = true;
  private passRunning = false;
  private passAgain = false;
  private passScheduled = false;
  private sweepTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retryAt: number | null = null;
  private lastReasonsAt = 0;
  private unsubscribe: Array<() => void> = [];
  private stopping = false;
  /** Passes, sweeps and retry promotions under way: shutdown waits for them before the pool closes. */
  private readonly inflight = new Set<Promise<unknown>>();
  /** Queue settings with any rule (DESIGN §12), reloaded on a queues_changed signal and every sweep. */
  private rules = new Map<string, QueueRules>();
  private rulesStale = true;
  /** Starts of rate-limited types, rebuilt from the jobs table at leadership and when a rate limit changes. */
  private readonly startLog = new StartLog();
  private startLogStale = true;
  private rateTimer?: NodeJS.Timeout;
  private rateAt: number | null = null;
  /** What the rules held back as a whole when the reasons were last written: type, or type + NUL + key. */
  private heldBefore = new Map<string, { type: string; key: string | null }>();

  constructor(
    private readonly config: AppConfig,
    private readonly leader: LeaderElection,
    private readonly queue: JobQueueService,
    private readonly lifecycle: JobLifecycleService,
    private readonly resources: ResourcesService,
    private readonly dispatcher: JobDispatcher,
    private readonly bus: JobEventBus,
    private readonly metrics: Metrics,
    private readonly statistics: TableStatistics,
    private readonly reaper: LostWorkReaper,
    private readonly queues: QueuesService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe.push(this.bus.subscribe((event) => this.onEvent(event)));
    this.unsubscribe.push(this.bus.onSignal((signal) => this.onSignal(signal)));
    this.leader.onChange((leader) => (leader ? this.lead() : this.stepDown()));
    await this.leader.start();
  }

  /**
   * Stops before any onApplicationShutdown hook runs (the database pool closes in one of them): no new
   * pass or sweep starts, the ones under way finish, then leadership is given up.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const off of this.unsubscribe) off();
    this.stepDown();
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.leader.stop();
  }

  /** Runs scheduler work so that shutdown can wait for it. */
  private track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      (error: unknown) => this.logger.error({ err: error }, 'scheduler task failed'),
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
  }

  isLeader(): boolean {
    return this.leader.isLeader();
  }

  private lead(): void {
    this.metrics.schedulerLeader.set(1);
    this.workersStale = true;
    this.ledger.stale = true;
    this.rulesStale = true;
    this.startLogStale = true;
    this.sweepTimer = setInterval(() => this.track(this.sweep()), SCHEDULER_TIMING.sweepMs);
    this.sweepTimer.unref();
    this.track(this.sweep());
  }

  private stepDown(): void {
    this.metrics.schedulerLeader.set(0);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.rateTimer) clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
    this.rateAt = null;
    this.sweepTimer = undefined;
    this.retryTimer = undefined;
    this.retryAt = null;
  }

  private onEvent(event: JobEvent): void {
    if (!this.leader.isLeader()) return;
    if (RELEASES.has(event.event)) this.ledger.release(event.jobId);
    if (event.event === 'job_started') this.startLog.started(event.jobId, Date.parse(event.data.timestamp));
    if (event.event === 'job_cancelled') this.ledger.stale = true; // a running job keeps its booking until its handler stops
    // A job now waits pending for its time (a retry's backoff, a delayed job's run_at): wake up then.
    if (event.data.status === 'pending' && typeof event.data.next_run_at === 'string') {
      this.armRetryTimer(Date.parse(event.data.next_run_at));
    } else if (TRIGGERS.has(event.event) || (event.event === 'job_created' && event.data.status === 'ready')) {
      this.kick();
    }
  }

  private onSignal(signal: ClusterSignal): void {
    if (!this.leader.isLeader() || signal.kind === 'schedule_update') return; // schedules: ScheduleTimer
    if (signal.kind === 'workers_changed') this.workersStale = true;
    if (signal.kind === 'capacity_freed') this.ledger.stale = true;
    if (signal.kind === 'queues_changed') {
      this.rulesStale = true;
      this.startLogStale = true;
      this.lastReasonsAt = 0; // the reasons of the type's jobs change now, not at the next refresh
    }
    this.kick();
  }

  /** Asks for a placement pass soon; calls made meanwhile share it. */
  kick(): void {
    if (!this.leader.isLeader() || this.stopping) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    if (this.passScheduled) return;
    this.passScheduled = true;
    queueMicrotask(() => {
      this.passScheduled = false;
      if (!this.stopping) this.track(this.pass());
    });
  }

  private async pass(): Promise<void> {
    if (this.passRunning || !this.leader.isLeader()) return;
    this.passRunning = true;
    try {
      do {
        this.passAgain = false;
        const full = await this.placeOnce();
        if (full) this.passAgain = true; // a full window: there may be more to place
      } while (this.passAgain && this.leader.isLeader() && !this.stopping);
    } catch (error) {
      if (!this.relinquishedOn(error)) this.logger.error({ err: error }, 'scheduling pass failed; the sweep will retry');
    } finally {
      this.passRunning = false;
    }
  }

  /** A fenced statement found another leader: step down at once (true), or it was another error (false). */
  private relinquishedOn(error: unknown): boolean {
    if (!(error instanceof LeadershipLostError)) return false;
    this.logger.warn({ epoch: error.epoch }, 'another scheduler leads now: stepping down');
    this.leader.relinquish(error.message);
    return true;
  }

  /** One placement round over the head of the ready queue. Returns true when it placed a full window. */
  private async placeOnce(): Promise<boolean> {
    // Every write of this round is fenced by the epoch of the term it was planned in.
    const epoch = this.leader.epoch();
    if (this.workersStale) await this.refreshWorkers();
    const rooms = await this.rooms(true);
    const anyRoom = rooms.some((w) => w.accepting && w.allocated.slots < w.capacity.slots);
    const reasonsDue = Date.now() - this.lastReasonsAt >= SCHEDULER_TIMING.reasonRefreshMs;
    if (!anyRoom && !reasonsDue) return false;

    // Queue rules (DESIGN §12): what they hold back as a whole stays out of the window (with its
    // reason written in bulk); the rest is admitted job by job while placing.
    const flow = await this.flowGate();
    const held = flow?.heldBack();
    this.metrics.queueHeld.reset();
    for (const [type, reason] of held?.types ?? []) this.metrics.queueHeld.set({ type, reason: reason.code }, 1);
    if (reasonsDue) await this.writeHeldReasons(held);
    const fair = (held && (held.types.size > 0 || held.pairs.size > 0)) || (await this.queue.anyKeyedReady());
    const ready = fair
      ? await this.queue.fairReadyQueue(SCHEDULER_TIMING.passWindow, {
          types: [...(held?.types.keys() ?? [])],
          pairs: [...(held?.pairs.values() ?? [])].map(({ type, key }) => ({ type, key })),
        })
      : await this.queue.readyQueue(SCHEDULER_TIMING.passWindow);
    if (held) this.armRateTimer(flow!);
    if (ready.length === 0) {
      if (reasonsDue) this.lastReasonsAt = Date.now();
      return false;
    }
    const starvedBefore = Date.now() - this.config.starvationSeconds * 1000;
    const queued: QueuedJob[] = ready.map((j) => ({
      id: j.id,
      cpuUnits: j.cpuUnits,
      memoryMb: j.memoryMb,
      starving: (j.queuedAt ?? j.createdAt).getTime() < starvedBefore,
      type: j.type,
      concurrencyKey: j.concurrencyKey,
    }));
    const gate: AdmissionGate | undefined = flow && {
      check: (j) => flow.check({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
      admit: (j) => flow.admit({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
    };
    const plan = planPlacements(queued, rooms, gate);
    const sizes = new Map(ready.map((j) => [j.id, j]));

    // A worker of this process gets its jobs placed and started in one statement and handed over in
    // memory; the others get them booked here and carried by their queues.
    const here = new Map<string, string[]>();
    const elsewhere: Array<{ id: string; workerId: string }> = [];
    for (const p of plan.placements) {
      if (!this.dispatcher.runsHere(p.workerId)) elsewhere.push({ id: p.jobId, workerId: p.workerId });
      else if (here.has(p.workerId)) here.get(p.workerId)!.push(p.jobId);
      else here.set(p.workerId, [p.jobId]);
    }
    let handedOver = 0;
    for (const [workerId, ids] of here) {
      const started = await this.lifecycle.placeAndStart(ids, workerId, epoch);
      // Fewer started than planned: taken meanwhile, the worker stopping, or the fence closed.
      if (started.length < ids.length && epoch !== null && !(await this.queue.isCurrentEpoch(epoch))) throw new LeadershipLostError(epoch);
      for (const { job } of started) {
        this.ledger.book(job.id, { workerId, cpuUnits: job.cpuUnits, memoryMb: job.memoryMb, type: job.type, concurrencyKey: sizes.get(job.id)?.concurrencyKey ?? null });
      }
      this.recordStarts(started.map(({ job }) => ({ id: job.id, type: job.type })));
      this.dispatcher.handOver(workerId, started);
      handedOver += started.length;
    }
    const placed = await this.queue.place(elsewhere, epoch);
    for (const p of placed) {
      const job = sizes.get(p.id)!;
      this.ledger.book(p.id, { workerId: p.workerId, cpuUnits: job.cpuUnits, memoryMb: job.memoryMb, type: job.type, concurrencyKey: job.concurrencyKey });
    }
    this.recordStarts(placed.map((p) => ({ id: p.id, type: sizes.get(p.id)!.type })));
    if (placed.length > 0) {
      await this.dispatcher.dispatch(placed.map((p) => ({ workerId: p.workerId, jobId: p.id, attempt: p.attempts + 1 })));
    }

    if (reasonsDue) {
      const current = new Map(ready.map((j) => [j.id, `${j.reasonCode}|${j.reasonMessage}`]));
      const changed = plan.waiting.filter((w) => current.get(w.jobId) !== `${w.reason.code}|${w.reason.message}`);
      await this.queue.setWaitingReasons(changed.map((w) => ({ id: w.jobId, reason: w.reason })));
      this.lastReasonsAt = Date.now();
    }
    return placed.length + handedOver > 0 && ready.length === SCHEDULER_TIMING.passWindow;
  }

  /**
   * This pass's view of the queue rules, or undefined when no queue has any. Reloads the rules and
   * the start log when stale; the ledger is current (rooms() ran first).
   */
  private async flowGate(): Promise<FlowGate | undefined> {
    if (this.rulesStale) {
      this.rulesStale = false;
      try {
        const settings = await this.queues.settings();
        this.rules = new Map(
          settings
            .map((s) => [s.type, { paused: s.paused, concurrencyLimit: s.concurrencyLimit, keyConcurrencyLimit: s.keyConcurrencyLimit, rateLimit: s.rateLimit }] as const)
            .filter(([, rules]) => hasRules(rules)),
        );
      } catch (error) {
        this.rulesStale = true;
        throw error;
      }
    }
    if (this.rules.size === 0) return undefined;
    const rated = [...this.rules].filter(([, r]) => r.rateLimit !== null);
    if (this.startLogStale && rated.length > 0) {
      const windowMs = Math.max(...rated.map(([, r]) => r.rateLimit!.intervalMs));
      const starts = await this.queue.recentStarts(rated.map(([type]) => type), windowMs);
      this.startLog.clear();
      for (const s of starts) this.startLog.record(s.type, s.at);
      this.startLogStale = false;
    }
    const { byType, byKey } = this.ledger.runningCounts(pairKey);
    return new FlowGate({ rules: this.rules, runningByType: byType, runningByKey: byKey, starts: this.startLog, now: Date.now() });
  }

  /** Writes the reasons of what the rules hold back as a whole, and clears them where they no longer do. */
  private async writeHeldReasons(held: ReturnType<FlowGate['heldBack']> | undefined): Promise<void> {
    const now = new Map<string, { type: string; key: string | null }>();
    for (const type of held?.types.keys() ?? []) now.set(type, { type, key: null });
    for (const [k, { type, key }] of held?.pairs ?? []) now.set(k, { type, key });
    const released = [...this.heldBefore].filter(([k]) => !now.has(k)).map(([, v]) => v);
    if (held) {
      await this.queue.setHeldReasons([
        ...[...held.types].map(([type, reason]) => ({ type, key: null, reason })),
        ...[...held.pairs.values()].map(({ type, key, reason }) => ({ type, key, reason })),
      ]);
    }
    if (released.length > 0) await this.queue.clearHeldReasons(released);
    this.heldBefore = now;
  }

  /**
   * Books starts of rate-limited types, timed after the statement that placed or started them
   * returned: never earlier than the start the database recorded, so windows counted from
   * `started_at` hold the limit too. A job a worker's queue starts later moves to its real start
   * when its job_started event comes (StartLog.started).
   */
  private recordStarts(jobs: ReadonlyArray<{ id: string; type: string }>): void {
    if (jobs.length === 0) return;
    const at = Date.now();
    for (const { id, type } of jobs) {
      const rate = this.rules.get(type)?.rateLimit;
      if (rate) {
        this.startLog.record(type, at, id);
        this.metrics.rateLimitedStarts.inc({ type });
      }
    }
  }

  /** Wakes the scheduler when the next rate-limited start is allowed. */
  private armRateTimer(flow: FlowGate): void {
    const at = flow.nextRateRelease([...this.rules].filter(([, r]) => r.rateLimit !== null).map(([type]) => type));
    if (at === null || !this.leader.isLeader()) return;
    if (this.rateAt !== null && this.rateAt <= at && this.rateAt >= Date.now()) return;
    if (this.rateTimer) clearTimeout(this.rateTimer);
    this.rateAt = at;
    this.rateTimer = setTimeout(() => {
      this.rateTimer = undefined;
      this.rateAt = null;
      this.kick();
    }, Math.max(0, at - Date.now()) + 1);
    this.rateTimer.unref();
  }

  /** Workers with what they have booked. Only a pass may rebuild the ledger (passes never overlap). */
  private async rooms(rebuild: boolean): Promise<WorkerRoom[]> {
    if (rebuild && this.ledger.stale) await this.ledger.rebuild(() => this.queue.allocatedJobs());
    const booked = this.ledger.usage();
    return this.workers.map((w) => ({
      id: w.id,
      accepting: w.status === 'active',
      capacity: { slots: w.maxConcurrentJobs, cpuUnits: w.maxCpuUnits, memoryMb: w.maxMemoryMb },
      allocated: {
        slots: booked.get(w.id)?.slots ?? 0,
        cpuUnits: booked.get(w.id)?.cpuUnits ?? 0,
        memoryMb: booked.get(w.id)?.memoryMb ?? 0,
      },
    }));
  }

  private async refreshWorkers(): Promise<void> {
    this.workersStale = false;
    this.workers = await this.resources.liveWorkers();
  }

  /**
   * The safety net: lost work (LostWorkReaper), placements never started, stuck cancels, due
   * retries, a pass; then the planner statistics of the hot tables (TableStatistics).
   */
  private async sweep(): Promise<void> {
    if (!this.leader.isLeader() || this.stopping) return;
    const epoch = this.leader.epoch();
    try {
      const lost = await this.resources.markSilentAsLost(this.config.workerLostSeconds);
      if (lost.length > 0) {
        await this.reaper.reapLostWorkers(lost, epoch);
        this.ledger.stale = true;
      }
      if ((await this.reaper.reapOrphans()) + (await this.reaper.reapUnexecuted()) > 0) this.ledger.stale = true;
      await this.refreshWorkers();
      const live = this.workers.filter((w) => w.status === 'active' || w.status === 'draining').map((w) => w.id);
      if ((await this.reaper.reconcilePlacements(new Set(live), epoch)) > 0) this.ledger.stale = true;
      const released = await this.queue.releaseStaleCancelled(SCHEDULER_TIMING.cancelGraceMs);
      if (released > 0) this.logger.warn({ released }, 'released resources of cancelled jobs whose handlers did not stop in time');
      await this.promoteDue();
      this.rulesStale = true;
      await this.queues.foldCounts();
      // The safety net: the ledger is rebuilt from the table once a second, by the sweep's own pass
      // when it can (marked just before it, so that passes placing submitted jobs rarely pay the read).
      this.ledger.stale = true;
      await this.pass();
      await this.observeWorkers();
    } catch (error) {
      if (!this.relinquishedOn(error)) this.logger.error({ err: error }, 'scheduler sweep failed');
    }
    await this.statistics.refreshGrown().then(
      (analyzed) => analyzed.length > 0 && this.logger.debug({ tables: analyzed }, 'analyzed tables that outgrew their statistics'),
      (error: unknown) => this.logger.warn({ err: error }, 'could not refresh table statistics; the next sweep tries again'),
    );
  }

  private async promoteDue(): Promise<void> {
    const promoted = await this.lifecycle.promoteDue();
    const next = await this.queue.nextRetryAt();
    this.retryAt = null;
    if (next) this.armRetryTimer(next.getTime());
    if (promoted.length > 0) this.kick();
  }

  /** Wakes the scheduler exactly when the earliest known pending job (retry or delayed, DESIGN §10) is due. */
  private armRetryTimer(at: number): void {
    if (!this.leader.isLeader()) return;
    if (this.retryAt !== null && this.retryAt <= at) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAt = null;
      if (this.stopping) return;
      this.track(this.promoteDue().catch((error: unknown) => this.logger.error({ err: error }, 'retry promotion failed')));
    }, Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
    this.retryTimer.unref();
  }

  private async observeWorkers(): Promise<void> {
    const rooms = await this.rooms(false);
    this.metrics.workerCapacity.reset();
    this.metrics.workerAllocated.reset();
    for (const room of rooms) {
      for (const [resource, key] of [['slots', 'slots'], ['cpu_units', 'cpuUnits'], ['memory_mb', 'memoryMb']] as const) {
        this.metrics.workerCapacity.set({ worker_id: room.id, resource }, room.capacity[key]);
        this.metrics.workerAllocated.set({ worker_id: room.id, resource }, room.allocated[key]);
      }
    }
  }
}
