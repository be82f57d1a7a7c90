import { Injectable, Logger } from '@nestjs/common';
import { Metrics } from '../metrics/metrics.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import { QueuesService } from '../queues/queues.service.js';
import type { AllocationLedger } from '../resources/domain/allocation-ledger.js';
import { FlowGate, hasRules, ratedTypes, type QueueRules } from './domain/flow-control.js';
import { RateLimitStartLog } from './rate-limit-start-log.js';
import { heldChange, heldGauge, type Held } from './domain/scheduling.js';
import { regatedTypes } from './domain/stale-placements.js';
import { SCHEDULER_TIMING } from './scheduler-timing.js';
import { databaseTime } from '../common/database-time.js';

/** Most jobs remembered as arrived ready between two passes (FlowControlState.arrivedReady). */
const ARRIVED_KEPT = 10_000;

/** What the rules hold back as a whole, as reasons to write: by type (key null), or by (type, key). */
const heldItems = (held: Held) => [
  ...[...held.types].map(([type, reason]) => ({ type, key: null, reason })),
  ...[...held.pairs.values()].map(({ type, key, reason }) => ({ type, key, reason })),
];

/**
 * Owns the leader's state of the queue rules (DESIGN §12): the queues' settings with any rule, the
 * log of recent starts of rate-limited types, and what the rules held back when reasons were last
 * written. Builds each pass's FlowGate from them and the ledger.
 * The starts of rate-limited types are RateLimitStartLog's.
 */
@Injectable()
export class FlowControlState {
  /** Queue settings with any rule, reloaded on a queues_changed signal and every sweep. */
  private rules = new Map<string, QueueRules>();
  private rulesStale = true;
  /** The settings' read under way, if any (loadRules). */
  private rulesLoading?: Promise<void>;
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
  /** performance.now() of the last check (a monotonic clock: a step of the wall clock must not skip checks). */
  private countsCheckedAt = -Infinity;
  private readonly logger = new Logger('SchedulerService');

  constructor(
    private readonly queues: QueuesService,
    private readonly queue: JobQueueService,
    private readonly metrics: Metrics,
    private readonly starts: RateLimitStartLog,
  ) {}

  /** Reload the settings at the next pass (a type whose rate limit was set or widened has its starts read then). */
  markStale(): void {
    this.rulesStale = true;
  }

  /** This process has just become the leader: the start log, reasons and counts are checked afresh. */
  takeOver(): void {
    this.markStale();
    this.starts.takeOver();
    this.heldBefore = new Map();
    this.reasonsInherited = true;
    this.gaugeShown = null;
    this.countsCheckedAt = -Infinity;
  }

  /**
   * A job became ready (its event): while any queue has a rule, it is remembered until the next pass,
   * which writes its reason at once if the rules hold its type or its (type, key) back as a whole.
   */
  arrivedReady(jobId: string, type: string): void {
    if (this.rules.size === 0 && this.rulesCurrent()) return;
    if (this.arrived.size >= ARRIVED_KEPT) return; // past that many, the next full write gives them their reason
    this.arrived.set(jobId, type);
  }

  /** The job booked at placement really started at `at` (StartLog.started). */
  started(jobId: string, at: number): void {
    this.starts.started(jobId, at);
  }

  /**
   * The sweep's part: the settings are reloaded at the next pass, the queues' counts folded; at
   * takeover and every SCHEDULER_TIMING.countsCheckMs, the counts are checked (and rebuilt on drift).
   */
  async sweep(): Promise<void> {
    this.rulesStale = true;
    await this.queues.foldCounts();
    if (performance.now() - this.countsCheckedAt >= SCHEDULER_TIMING.countsCheckMs) {
      // Timed from its end, failed or not: a check that fails (a count over a table too big for
      // DB_QUERY_TIMEOUT_MS) waits its interval like one that passed, instead of running again at every
      // sweep, each time holding up the sweep's own work (hand-overs, stuck cancels, due jobs) for as long.
      try {
        await this.checkCounts();
      } finally {
        this.countsCheckedAt = performance.now();
      }
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
    return this.rulesCurrent() && this.rules.size === 0;
  }

  /**
   * This pass's view of the queue rules, or undefined when no queue has any. Reloads the rules and
   * the start log when stale; `ledger` must be current.
   */
  async gate(ledger: AllocationLedger): Promise<FlowGate | undefined> {
    await this.loadRules();
    this.starts.follow(this.rules);
    if (this.rules.size === 0) return undefined;
    await this.starts.load(this.rules);
    const { byType, byKey } = ledger.runningCounts();
    return new FlowGate({ rules: this.rules, runningByType: byType, runningByKey: byKey, starts: this.starts.log, now: databaseTime.now() });
  }

  /** The types with a rate limit, the settings read again first when stale. */
  async rateLimitedTypes(): Promise<ReadonlySet<string>> {
    await this.loadRules();
    return new Set(ratedTypes(this.rules));
  }

  /**
   * The types whose placements not started are taken back to be placed through the gate again
   * (regatedTypes: rate-limited, paused, over a concurrency limit by `ledger`'s counts), the settings
   * read again first when stale.
   */
  async regatedTypes(ledger: AllocationLedger): Promise<ReadonlySet<string>> {
    await this.loadRules();
    return regatedTypes(this.rules, ledger.runningCounts());
  }

  /** Whether the rules held are the settings as last signalled: not stale, and no read under way. */
  private rulesCurrent(): boolean {
    return !this.rulesStale && !this.rulesLoading;
  }

  /**
   * Reads the settings when stale. A read under way is waited for, never taken as done: the pass and
   * the sweep both ask at a takeover, and the second would otherwise plan with the rules as they were
   * before it (none, for a process that has just become the leader) while the first read is in flight.
   */
  private async loadRules(): Promise<void> {
    while (this.rulesStale || this.rulesLoading) {
      if (!this.rulesLoading) this.rulesLoading = this.readRules().finally(() => (this.rulesLoading = undefined));
      await this.rulesLoading;
    }
  }

  private async readRules(): Promise<void> {
    this.rulesStale = false; // a markStale() during the read asks for another one
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

  /**
   * Publishes what the rules hold back as a whole (metrics; written again only when it changed), and
   * writes its reasons to the jobs that became ready since the last pass, so that a job submitted to a
   * paused queue says so at once. Every held job's reason is written by writeHeldReasons.
   */
  async publishHeld(held: Held | undefined): Promise<void> {
    const gauge = heldGauge(held);
    if (gauge !== this.gaugeShown) {
      this.metrics.queueHeld.reset();
      for (const [type, reason] of held?.types ?? []) this.metrics.queueHeld.set({ type, reason: reason.code }, 1);
      this.gaugeShown = gauge;
    }
    const arrived = [...this.arrived];
    this.arrived.clear();
    if (!held || arrived.length === 0) return;
    const heldTypes = new Set([...held.types.keys(), ...[...held.pairs.values()].map((p) => p.type)]);
    const ids = arrived.filter(([, type]) => heldTypes.has(type)).map(([id]) => id);
    if (ids.length > 0) await this.queue.setHeldReasons(heldItems(held), ids);
  }

  /** When the next rate-limited start is allowed, or null. */
  nextRateRelease(flow: FlowGate): number | null {
    return flow.nextRateRelease(ratedTypes(this.rules));
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
    for (const { type } of this.starts.record(jobs, { started }, this.rules)) this.metrics.rateLimitedStarts.inc({ type });
  }

  /**
   * Writes the reasons of what the rules hold back as a whole, and clears them where they no longer
   * do. A placement pass gives what holds back after its placements (FlowGate.heldBack once it
   * admitted them): before them, a type or key whose running job had just ended looked free, and the
   * reasons of all its waiting jobs were cleared while the pass filled its room again at once.
   */
  async writeHeldReasons(held: Held | undefined): Promise<void> {
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
}
