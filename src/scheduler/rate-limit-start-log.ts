import { Injectable, Logger } from '@nestjs/common';
import { RateLimitStartsRepository, type RateLimitStart } from '../queues/rate-limit-starts.repository.js';
import { ratedTypes, StartLog, type QueueRules } from './domain/flow-control.js';
import { databaseTime } from '../common/database-time.js';

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

/**
 * The leader's count of the starts of rate-limited types (DESIGN §12), kept for FlowControlState: the
 * start log FlowGate counts, and the starts stored in `rate_limit_starts`.
 *
 * The start log is this term's count of the starts it let go. Each start is also stored (written after
 * it counted, a batch a statement), and a type's log is read from there when it is not known: at
 * takeover, when the type's rate limit is set, and when its window widens (the log forgets what left
 * the narrower window). Starts not stored yet (a leader that stopped just after them) are read from the
 * jobs' own start and placement times.
 */
@Injectable()
export class RateLimitStartLog {
  /** Starts of rate-limited types this term counted, or read from the stored ones (load): what FlowGate counts. */
  readonly log = new StartLog();
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
  private readonly logger = new Logger('SchedulerService');

  constructor(private readonly starts: RateLimitStartsRepository) {}

  /** A new term: every type's log is read afresh. */
  takeOver(): void {
    this.log.clear();
    this.logged.clear();
  }

  /** The job booked at placement really started at `at` (StartLog.started): its start is stored. */
  started(jobId: string, at: number): void {
    const start = this.log.started(jobId, at);
    const unratedType = this.unratedPlaced.get(jobId);
    if (unratedType !== undefined) this.unratedPlaced.delete(jobId);
    if (start) this.store({ jobId, ...start });
    else if (unratedType !== undefined) this.store({ jobId, type: unratedType, at });
  }

  /**
   * Books the starts of the jobs of rate-limited types (FlowControlState.recordStarts) and returns
   * them; stores those of types that lost their rate limit lately.
   */
  record(
    jobs: ReadonlyArray<{ id: string; type: string }>,
    { started }: { started: boolean },
    rules: ReadonlyMap<string, QueueRules>,
  ): Array<{ id: string; type: string }> {
    const counted: Array<{ id: string; type: string }> = [];
    const at = databaseTime.now();
    for (const { id, type } of jobs) {
      const rate = rules.get(type)?.rateLimit;
      if (rate) {
        this.log.record(type, at, started ? undefined : id);
        if (started) this.store({ jobId: id, type, at });
        counted.push({ id, type });
      } else if (this.recentlyUnrated(type, at)) {
        if (started) this.store({ jobId: id, type, at });
        else if (this.unratedPlaced.size < UNRATED_PLACED_KEPT) this.unratedPlaced.set(id, type);
      }
    }
    return counted;
  }

  /** With `rules` just read, whatever they hold: forgets the types without a rate limit, and deletes the stored starts no longer needed. */
  follow(rules: ReadonlyMap<string, QueueRules>): void {
    this.prune(rules);
    this.forgetUnrated(rules);
    this.expireUnrated(databaseTime.now());
  }

  /**
   * Forgets the types that lost their rate limit STARTS_KEPT_MS ago or more, with their placements not
   * started: a job cancelled or deleted before its start never sends the job_started event that would
   * have removed its entry, which would otherwise stay for the process's life.
   */
  private expireUnrated(now: number): void {
    const expired = new Set<string>();
    for (const [type, since] of this.unrated) if (now - since >= STARTS_KEPT_MS) expired.add(type);
    if (expired.size === 0) return;
    for (const type of expired) this.unrated.delete(type);
    for (const [jobId, type] of this.unratedPlaced) if (expired.has(type)) this.unratedPlaced.delete(jobId);
  }

  /** How many placements of types that lately lost their rate limit wait for their start. */
  get unratedWaiting(): number {
    return this.unratedPlaced.size;
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
  private forgetUnrated(rules: ReadonlyMap<string, QueueRules>): void {
    for (const [type, held] of [...this.logged]) {
      const rate = rules.get(type)?.rateLimit;
      if (!rate) {
        this.logged.delete(type);
        this.log.forget(type);
        this.unrated.set(type, databaseTime.now());
      } else if (rate.intervalMs < held) {
        this.logged.set(type, rate.intervalMs);
      }
    }
  }

  /**
   * Reads the starts of each rate-limited type whose log does not hold its whole window: at takeover,
   * when its limit was set, or its window widened (follow).
   *
   * What is read replaces the type's log. A placement not started yet is booked again with its job, so
   * that its job_started event stores its start; a start read from `jobs` and not stored yet is stored
   * now, so that a later read still finds it once its job is retried or deleted.
   */
  async load(rules: ReadonlyMap<string, QueueRules>): Promise<void> {
    const windowOf = (type: string) => rules.get(type)!.rateLimit!.intervalMs;
    const due = ratedTypes(rules).filter((type) => (this.logged.get(type) ?? 0) < windowOf(type));
    if (due.length === 0) return;
    await this.storing; // what this term counted is stored first, so that it is read back once
    const starts = await this.starts.recent(due, Math.max(...due.map(windowOf)));
    for (const type of due) this.log.forget(type);
    for (const s of starts) {
      if (s.kind === 'placed') {
        this.log.record(s.type, s.at, s.jobId);
        continue;
      }
      this.log.record(s.type, s.at);
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
   * Every PRUNE_EVERY_MS, with `rules` just read: deletes the stored starts older than
   * STARTS_KEPT_MS and than their type's window.
   */
  private prune(rules: ReadonlyMap<string, QueueRules>): void {
    if (databaseTime.now() - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = databaseTime.now();
    const windows = ratedTypes(rules).map((type) => ({ type, intervalMs: rules.get(type)!.rateLimit!.intervalMs }));
    this.starts.prune(windows, STARTS_KEPT_MS).catch((error: unknown) => this.logger.warn({ err: error }, 'could not delete old starts of rate-limited types'));
  }
}
