import { Injectable, Logger } from '@nestjs/common';
import { Metrics } from '../metrics/metrics.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { QueuesService } from '../queues/queues.service.js';
import { RateLimitStartsRepository, type RateLimitStart } from '../queues/rate-limit-starts.repository.js';
import type { AllocationLedger } from '../resources/domain/allocation-ledger.js';
import { FlowGate, hasRules, StartLog, type QueueRules } from './domain/flow-control.js';
import { heldChange, heldGauge, type Held } from './domain/scheduling.js';
import { SCHEDULER_TIMING } from './scheduler-timing.js';

/** Most jobs remembered as arrived ready between two passes (FlowControlState.arrivedReady). */
const ARRIVED_KEPT = 10_000;
/** How often the stored starts no longer needed are deleted. */
const PRUNE_EVERY_MS = 10_000;
/**
 * How long a stored start is kept at least, whatever its type's window now: a window narrowed and
 * widened again, or a rate limit removed and set again, within this time still counts the starts
 * the wider window holds.
 */
export const STARTS_KEPT_MS = 15 * 60_000;
/** Most starts stored by one statement. */
const STORE_BATCH = 1000;
/** Most placements of types that recently lost their rate limit remembered until they start. */
const UNRATED_PLACED_KEPT = 100_000;

/** What the rules hold back as a whole, as reasons to write: by type (key null), or by (type, key). */
const heldItems = (held: Held) => [
  ...[...held.types].map(([type, reason]) => ({ type, key: null, reason })),
  ...[...held.pairs.values()].map(({ type, key, reason }) => ({ type, key, reason })),
];

/**
 * Owns the leader's state of the queue rules (DESIGN §12): the queues' settings with any rule, the
 * log of recent starts of rate-limited types, and what the rules held back when reasons were last
 * written. Builds each pass's FlowGate from them and the ledger.
 *
 * The start log is this term's count of the starts it let go. Each start is also stored
 * (`rate_limit_starts`, written after it counted, a batch a statement), and a type's log is read
 * from there when it is not known: at takeover, when the type's rate limit is set, and when its
 * window widens (the log forgets what left the narrower window). Starts not stored yet (a leader
 * that stopped just after them) are read from the jobs' own start and placement times.
 */
@Injectable()
export class FlowControlState {
  /** Queue settings with any rule, reloaded on a queues_changed signal and every sweep. */
  private rules = new Map<string, QueueRules>();
  private rulesStale = true;
  /** Starts of rate-limited types this term counted, or read from the stored ones (loadStarts). */
  private readonly startLog = new StartLog();
  /** The window each rate-limited type's log holds every start of, by type. */
  private readonly logged = new Map<string, number>();
  /** Starts counted and not stored yet; one statement stores them at a time. */
  private unstored: RateLimitStart[] = [];
  /** The batches being stored, or null: a read of the stored starts waits for them. */
  private storing: Promise<void> | null = null;
  /** When the stored starts outside their window were last deleted. */
  private prunedAt = 0;
  /**
   * Types whose rate limit this term saw removed less than STARTS_KEPT_MS ago, with when: their starts
   * are still stored (not counted), so that a limit set again within that time reads every one of them.
   */
  private readonly unrated = new Map<string, number>();
  /** Placements of such types not started yet, by job: stored at their job_started event. */
  private readonly unratedPlaced = new Map<string, string>();
  /** What the rules hold back as a whole when the reasons were last written: type, or type + NUL + key. */
  private heldBefore = new Map<string, { type: string; key: string | null }>();
  /**
   * Set at takeover: the reasons in the table were written by another term, whose holds this one
   * does not know, so the next write clears every queue-rule reason its own rules do not hold.
   */
  private reasonsInherited = true;
  /** Jobs that became ready since the last pass (their events), by id, with their type: their reasons are due at once. */
  private readonly arrived = new Map<string, string>();
  /** What the held gauge shows (heldGauge), or null when it is to be written afresh. */
  private gaugeShown: string | null = null;
  /** When the counts were last checked against the jobs table (0: at the next sweep). */
  private countsCheckedAt = 0;
  private readonly logger = new Logger('SchedulerService');

  constructor(
    private readonly queues: QueuesService,
    private readonly queue: JobQueueService,
    private readonly metrics: Metrics,
    private readonly starts: RateLimitStartsRepository,
  ) {}

  /** Reload the settings at the next pass (a type whose rate limit was set or widened has its starts read then). */
  markStale(): void {
    this.rulesStale = true;
  }

  /** This process has just become the leader: the start log, reasons and counts are checked afresh. */
  takeOver(): void {
    this.markStale();
    this.startLog.clear();
    this.logged.clear();
    this.heldBefore = new Map();
    this.reasonsInherited = true;
    this.gaugeShown = null;
    this.countsCheckedAt = 0;
  }

  /**
   * A job became ready (its event): while any queue has a rule, it is remembered until the next pass,
   * which writes its reason at once if the rules hold its type or its (type, key) back as a whole.
   */
  arrivedReady(jobId: string, type: string): void {
    if (this.rules.size === 0 && !this.rulesStale) return;
    if (this.arrived.size >= ARRIVED_KEPT) return; // past that many, the next full write gives them their reason
    this.arrived.set(jobId, type);
  }

  /** The job booked at placement really started at `at` (StartLog.started). */
  started(jobId: string, at: number): void {
    const start = this.startLog.started(jobId, at);
    const unratedType = this.unratedPlaced.get(jobId);
    if (unratedType !== undefined) this.unratedPlaced.delete(jobId);
    if (start) this.store({ jobId, ...start });
    else if (unratedType !== undefined) this.store({ jobId, type: unratedType, at });
  }

  /**
   * The sweep's part: the settings are reloaded at the next pass, the queues' counts folded; at
   * takeover and every SCHEDULER_TIMING.countsCheckMs, the counts are checked (and rebuilt on drift).
   */
  async sweep(): Promise<void> {
    this.rulesStale = true;
    await this.queues.foldCounts();
    if (Date.now() - this.countsCheckedAt >= SCHEDULER_TIMING.countsCheckMs) {
      await this.checkCounts();
      this.countsCheckedAt = Date.now();
    }
  }

  /**
   * Compares the counts by type and status with a count over the jobs table and rebuilds them, in
   * one transaction, when they differ: each differing pair is logged and counted in
   * draconic_job_counts_drift_total. Returns the pairs that differed.
   */
  async checkCounts(): Promise<Array<{ type: string; status: string; counted: number; actual: number }>> {
    const drift = await this.queues.checkCounts(true);
    for (const d of drift) this.metrics.jobCountsDrift.inc({ type: d.type, status: d.status });
    if (drift.length > 0) this.logger.warn({ drift }, 'job counts differed from the jobs table: rebuilt');
    return drift;
  }

  /** True when the settings are current and no queue has a rule: every job may start as far as the rules go. */
  withoutRules(): boolean {
    return !this.rulesStale && this.rules.size === 0;
  }

  /**
   * This pass's view of the queue rules, or undefined when no queue has any. Reloads the rules and
   * the start log when stale; `ledger` must be current.
   */
  async gate(ledger: AllocationLedger): Promise<FlowGate | undefined> {
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
    this.pruneStarts();
    this.forgetUnrated();
    if (this.rules.size === 0) return undefined;
    await this.loadStarts();
    const { byType, byKey } = ledger.runningCounts();
    return new FlowGate({ rules: this.rules, runningByType: byType, runningByKey: byKey, starts: this.startLog, now: Date.now() });
  }

  /**
   * Publishes what the rules hold back as a whole (metrics; written again only when it changed), and
   * writes its reasons: to every job it holds when they are due, else to the jobs that became ready
   * since the last pass, so that a job submitted to a paused queue says so at once.
   */
  async publishHeld(held: Held | undefined, reasonsDue: boolean): Promise<void> {
    const gauge = heldGauge(held);
    if (gauge !== this.gaugeShown) {
      this.metrics.queueHeld.reset();
      for (const [type, reason] of held?.types ?? []) this.metrics.queueHeld.set({ type, reason: reason.code }, 1);
      this.gaugeShown = gauge;
    }
    const arrived = [...this.arrived];
    this.arrived.clear();
    if (reasonsDue) {
      await this.writeHeldReasons(held);
      return;
    }
    if (!held || arrived.length === 0) return;
    const heldTypes = new Set([...held.types.keys(), ...[...held.pairs.values()].map((p) => p.type)]);
    const ids = arrived.filter(([, type]) => heldTypes.has(type)).map(([id]) => id);
    if (ids.length > 0) await this.queue.setHeldReasons(heldItems(held), ids);
  }

  /** When the next rate-limited start is allowed, or null. */
  nextRateRelease(flow: FlowGate): number | null {
    return flow.nextRateRelease(this.ratedTypes());
  }

  /**
   * Books starts of rate-limited types, timed after the statement that placed or started them
   * returned: never earlier than the start the database recorded, so windows counted from
   * `started_at` hold the limit too. `started`: the statement started the jobs (this process runs
   * them). Otherwise they were placed on a worker that starts them itself, a little later: each then
   * counts as starting now until its job_started event gives its real start (StartLog.started), so a
   * window never reopens under a start the leader has not seen yet.
   */
  recordStarts(jobs: ReadonlyArray<{ id: string; type: string }>, { started }: { started: boolean }): void {
    if (jobs.length === 0) return;
    const at = Date.now();
    for (const { id, type } of jobs) {
      const rate = this.rules.get(type)?.rateLimit;
      if (rate) {
        this.startLog.record(type, at, started ? undefined : id);
        if (started) this.store({ jobId: id, type, at });
        this.metrics.rateLimitedStarts.inc({ type });
      } else if (this.recentlyUnrated(type, at)) {
        if (started) this.store({ jobId: id, type, at });
        else if (this.unratedPlaced.size < UNRATED_PLACED_KEPT) this.unratedPlaced.set(id, type);
      }
    }
  }

  /** Whether `type` lost its rate limit less than STARTS_KEPT_MS before `now` (its starts are still stored). */
  private recentlyUnrated(type: string, now: number): boolean {
    const since = this.unrated.get(type);
    if (since === undefined) return false;
    if (now - since < STARTS_KEPT_MS) return true;
    this.unrated.delete(type);
    return false;
  }

  /**
   * Forgets the log of each type that lost its rate limit (its starts are not counted meanwhile, so
   * a limit set again reads them), and narrows what the log of a type whose window narrowed holds (it
   * forgets what leaves the window, so widening it again reads). Whether any queue has a rule or not.
   */
  private forgetUnrated(): void {
    for (const [type, held] of [...this.logged]) {
      const rate = this.rules.get(type)?.rateLimit;
      if (!rate) {
        this.logged.delete(type);
        this.startLog.forget(type);
        this.unrated.set(type, Date.now());
      } else if (rate.intervalMs < held) {
        this.logged.set(type, rate.intervalMs);
      }
    }
  }

  /**
   * Reads the starts of each rate-limited type whose log does not hold its whole window: at takeover,
   * when its limit was set, or its window widened (forgetUnrated).
   *
   * What is read replaces the type's log. A placement not started yet is booked again with its job, so
   * that its job_started event stores its start; a start read from `jobs` and not stored yet is stored
   * now, so that a later read still finds it once its job is retried or deleted.
   */
  private async loadStarts(): Promise<void> {
    const windowOf = (type: string) => this.rules.get(type)!.rateLimit!.intervalMs;
    const due = this.ratedTypes().filter((type) => (this.logged.get(type) ?? 0) < windowOf(type));
    if (due.length === 0) return;
    await this.storing; // what this term counted is stored first, so that it is read back once
    const starts = await this.starts.recent(due, Math.max(...due.map(windowOf)));
    for (const type of due) this.startLog.forget(type);
    for (const s of starts) {
      if (s.kind === 'placed') {
        this.startLog.record(s.type, s.at, s.jobId);
        continue;
      }
      this.startLog.record(s.type, s.at);
      if (s.kind === 'started') this.store({ jobId: s.jobId, type: s.type, at: s.at });
    }
    for (const type of due) {
      this.logged.set(type, windowOf(type));
      this.unrated.delete(type);
    }
  }

  /**
   * Stores a start this term counted, in the next batch. A batch that cannot be stored is dropped
   * (logged): a later rebuild then reads those starts from the jobs' own start times, which keep
   * each job's latest start.
   */
  private store(start: RateLimitStart): void {
    this.unstored.push(start);
    this.storing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.storeBatches());
  }

  private async storeBatches(): Promise<void> {
    try {
      while (this.unstored.length > 0) {
        const batch = this.unstored.splice(0, STORE_BATCH);
        await this.starts.record(batch).catch((error: unknown) => this.logger.warn({ err: error, starts: batch.length }, 'could not store starts of rate-limited types'));
      }
    } finally {
      this.storing = null;
    }
  }

  /**
   * Every PRUNE_EVERY_MS, with the settings just read: deletes the stored starts older than
   * STARTS_KEPT_MS and than their type's window.
   */
  private pruneStarts(): void {
    if (Date.now() - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = Date.now();
    const windows = this.ratedTypes().map((type) => ({ type, intervalMs: this.rules.get(type)!.rateLimit!.intervalMs }));
    this.starts.prune(windows, STARTS_KEPT_MS).catch((error: unknown) => this.logger.warn({ err: error }, 'could not delete old starts of rate-limited types'));
  }

  /** Writes the reasons of what the rules hold back as a whole, and clears them where they no longer do. */
  private async writeHeldReasons(held: Held | undefined): Promise<void> {
    const { now, released } = heldChange(held, this.heldBefore);
    if (held) await this.queue.setHeldReasons(heldItems(held));
    if (this.reasonsInherited) {
      await this.queue.clearHeldReasonsExcept([...now.values()]);
      this.reasonsInherited = false;
    } else if (released.length > 0) {
      await this.queue.clearHeldReasons(released);
    }
    this.heldBefore = now;
  }

  private ratedTypes(): string[] {
    return [...this.rules].filter(([, r]) => r.rateLimit !== null).map(([type]) => type);
  }
}
