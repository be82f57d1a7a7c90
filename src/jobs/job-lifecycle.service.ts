import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Coalescer } from '../common/coalescer.js';
import { storableText } from '../common/json-limits.js';
import { isPermanentDbError, isTransientDbError } from '../database/db-errors.js';
import { JobEventBus } from '../events/job-event-bus.js';
import { Metrics } from '../metrics/metrics.js';
import type { JobLogLevel } from './entities/job-log.entity.js';
import { CompletionOutcomeRepository } from './completion-outcome.repository.js';
import type { DependencyResult, RunnableJob, StartedJob } from './job-row.js';
import { JobGraphRepository } from './job-graph.repository.js';
import { JobLogRepository, type LogLine } from './job-log.repository.js';
import { JobStartsRepository } from './job-starts.repository.js';
import { JobTransitionsRepository } from './job-transitions.repository.js';
import type { ReleasedClaim, ReleasedJob, ReleasedStarter } from './released-starts.js';
import { mergeMoved, NOTHING_MOVED, type Moved, type MovedJob } from './transition-sql.js';
import { databaseTime } from '../common/database-time.js';

/** The statuses a job's run ends in, as observeRuns sees them (a cancelled run is observed when its handler stops). */
const RUN_ENDED_IN: ReadonlySet<string> = new Set(['completed', 'failed', 'timeout', 'pending']);

/** Largest result a handler may return (DESIGN §2). */
export const MAX_RESULT_BYTES = 1024 * 1024;

type CompleteItem = { id: string; attempt: number; result: unknown };

/** A log line's data as JSON text (null for none), or a note of why it could not be serialised. */
function logData(data: unknown): string | null {
  try {
    return data == null ? null : (JSON.stringify(data) ?? null);
  } catch (error) {
    return JSON.stringify({ unserializable: error instanceof Error ? storableText(String(error.message), 2000) : 'its toJSON threw' });
  }
}

/**
 * Every move of a job after its submit, for the executor and the scheduler: guarded transitions
 * (through JobTransitionsRepository), group-committed when many happen at once, published through
 * the JobEventBus after their commit, in order per job. Failures have their own class
 * (JobFailureService), which publishes through this one.
 */
@Injectable()
export class JobLifecycleService {
  private readonly logger = new Logger(JobLifecycleService.name);
  private readonly starters = new Map<string, Coalescer<{ id: string; attempt: number }, StartedJob | null>>();
  /** A batch the database refuses for its data is recorded again one job at a time (Coalescer), so only the bad one fails. */
  private readonly completions = new Coalescer<CompleteItem, boolean>((items) => this.flushCompletions(items), 500, isPermanentDbError);
  /** Jobs whose start statement is on its way (their ids, counted): a heartbeat reports them as executing. */
  private readonly startsInFlight = new Map<string, number>();
  private releasedStarter: ReleasedStarter | null = null;
  private readonly logLines = new Coalescer<LogLine, void>((lines) => this.logs.appendLogs(lines).then(() => lines.map(() => undefined)), 500, isPermanentDbError);

  constructor(
    private readonly logs: JobLogRepository,
    private readonly dag: JobGraphRepository,
    private readonly transitions: JobTransitionsRepository,
    private readonly placements: JobStartsRepository,
    private readonly outcomes: CompletionOutcomeRepository,
    private readonly events: JobEventBus,
    private readonly metrics: Metrics,
  ) {}

  /**
   * From now on a completion that releases ready dependents offers them to `starter` inside its own
   * transaction, so that a dependent can start in the same commit as the job it waited for: no
   * placement pass, ready-queue read or second commit between the two (DESIGN §4's hand-over to a
   * worker of the scheduler's own process).
   */
  startReleasedWith(starter: ReleasedStarter): void {
    this.releasedStarter = starter;
  }

  /** ready -> running on `workerId`; null when the job is no longer placed there (cancelled, re-placed, started). */
  start(id: string, attempt: number, workerId: string): Promise<StartedJob | null> {
    let coalescer = this.starters.get(workerId);
    if (!coalescer) {
      coalescer = new Coalescer((items) => this.flushStarts(items, workerId));
      this.starters.set(workerId, coalescer);
    }
    this.trackStarts([id], 1);
    return coalescer.push({ id, attempt });
  }

  /**
   * ready -> placed on `workerId` and running, in one statement: for the scheduler handing jobs to the
   * worker of its own process. Returns the jobs that started (the others were taken meanwhile, or
   * the worker stopped taking work).
   */
  async placeAndStart(ids: readonly string[], workerId: string, epoch: number | null): Promise<StartedJob[]> {
    this.trackStarts(ids, 1);
    try {
      return this.afterStart(await this.placements.placeAndStart(ids, workerId, epoch));
    } finally {
      this.trackStarts(ids, -1);
    }
  }

  /**
   * Jobs a start statement is on its way for. Their start may have committed already while its
   * answer has not arrived (or is lost with its connection): a worker's heartbeat reports them as
   * executing, so that nothing declares them lost before the worker knows.
   */
  startingJobIds(): string[] {
    return [...this.startsInFlight.keys()];
  }

  /** running -> completed. False when the job had already left running (cancelled, timed out, lost). */
  complete(id: string, attempt: number, result: unknown): Promise<boolean> {
    return this.completions.push({ id, attempt, result: result === undefined ? null : result });
  }

  /**
   * `complete` in a statement of its own, without group commit: when a batch cannot be stored, tells
   * which of its jobs is the cause.
   */
  async completeAlone(id: string, attempt: number, result: unknown): Promise<boolean> {
    return (await this.flushCompletions([{ id, attempt, result: result === undefined ? null : result }]))[0]!;
  }

  /** Pending jobs whose time came (a retry's backoff, a delayed job's run_at) become ready, `limit` at most, earliest first. */
  async promoteDue(limit?: number): Promise<MovedJob[]> {
    const moved = await this.transitions.promoteDue(limit);
    this.publish(moved);
    return moved.jobs;
  }

  async progress(id: string, attempt: number, percent: number, data?: Record<string, unknown>): Promise<void> {
    this.publish(await this.transitions.progress(id, attempt, percent, data));
  }

  /**
   * A handler's log line. Its data is serialised here, before it joins a batch: data that is not JSON
   * (circular, a BigInt) is stored as `{unserializable: <why>}`, and never fails the batch's other lines.
   */
  log(jobId: string, attempt: number, level: JobLogLevel, message: string, data?: Record<string, unknown>): Promise<void> {
    return this.logLines.push({ jobId, attempt, level, message, data: logData(data) });
  }

  /** See JobGraphRepository.dependencyResults: no result is sent when they pass `maxBytes` together. */
  async dependencyResults(jobId: string, maxBytes: number): Promise<{ results: DependencyResult[]; bytes: number }> {
    return this.dag.dependencyResults(jobId, maxBytes);
  }

  /**
   * Publishes a statement's events (after its commit) and counts its transitions. Local listeners
   * get them before this returns; the Redis publish is sent at once, in call order (one connection,
   * so per-job order holds), and not waited for: a batch's callers and the next batch need not wait
   * a Redis round trip. A failed publish is logged (the change is committed and logged in job_logs,
   * which replay reads); it must not undo the transition.
   */
  publish(moved: Moved<MovedJob>): void {
    if (moved.events.length === 0) return;
    const types = new Map(moved.jobs.map((j) => [j.id, j.type]));
    for (const event of moved.events) {
      if (event.event === 'job_progress') continue; // progress reports a running job: no state entered
      this.metrics.transitions.inc({ type: types.get(event.jobId) ?? event.data.type, to: String(event.data.status) });
    }
    this.events.publish(moved.events).catch((error: unknown) => {
      this.logger.error({ err: error, count: moved.events.length }, 'could not publish job events');
    });
  }

  // ---------------------------------------------------------------------------------------------

  private trackStarts(ids: readonly string[], delta: 1 | -1): void {
    for (const id of ids) {
      const n = (this.startsInFlight.get(id) ?? 0) + delta;
      if (n > 0) this.startsInFlight.set(id, n);
      else this.startsInFlight.delete(id);
    }
  }

  private async flushStarts(items: Array<{ id: string; attempt: number }>, workerId: string): Promise<Array<StartedJob | null>> {
    // Their callers learn the outcome in this same run of microtasks, before any heartbeat can look.
    let moved;
    try {
      moved = await this.placements.start(items, workerId);
    } finally {
      this.trackStarts(items.map((i) => i.id), -1);
    }
    const started = this.afterStart(moved);
    const byId = new Map(started.map((s) => [s.job.id, s]));
    return items.map((item) => {
      const s = byId.get(item.id); // one caller runs a start: a repeated hand-over of the attempt in the batch gets null
      return s && s.job.attempts === item.attempt && byId.delete(item.id) ? s : null;
    });
  }

  /** Publishes a start statement's events and observes the queue waits. */
  private afterStart(moved: Moved<RunnableJob> & { withDependencies: Set<string> }): StartedJob[] {
    this.publish(moved);
    return this.startedJobs(moved);
  }

  /** Observes the queue waits of a start statement's jobs (its events published). */
  private startedJobs(moved: Moved<RunnableJob> & { withDependencies: Set<string> }): StartedJob[] {
    for (const job of moved.jobs) {
      if (job.queuedAt && job.startedAt) {
        this.metrics.queueWait.observe({ type: job.type }, (job.startedAt.getTime() - job.queuedAt.getTime()) / 1000);
      }
    }
    return moved.jobs.map((job) => ({ job, hasDependencies: moved.withDependencies.has(job.id) }));
  }

  private async flushCompletions(items: CompleteItem[]): Promise<boolean[]> {
    const starts: Array<{ workerId: string; moved: Moved<RunnableJob> & { withDependencies: Set<string> } }> = [];
    const claimed: { claim: ReleasedClaim | null } = { claim: null };
    const written = { ids: [] as string[] };
    const starter = this.releasedStarter;
    let moved: Moved<MovedJob>;
    try {
      moved = await this.transitions.complete(items, starter ? (released, completedIds, tx) => this.startReleased(starter, released, completedIds, tx, claimed, starts) : undefined, written);
    } catch (error) {
      const committed = written.ids.length > 0 && isTransientDbError(error) ? await this.committedAfterAll(items.filter((i) => written.ids.includes(i.id)), error) : null;
      if (!committed) {
        this.settleClaim(claimed.claim, null);
        throw error;
      }
      moved = committed;
    }
    this.publish(moved);
    this.settleClaim(claimed.claim, starts.map(({ workerId, moved: started }) => ({ workerId, jobs: this.startedJobs(started) })));
    this.observeRuns(moved, () => 'completed');
    const done = new Set(moved.jobs.filter((j) => j.status === 'completed').map((j) => j.id));
    return items.map((i) => done.has(i.id));
  }

  /**
   * A completion's transaction failed after its statements had answered: its COMMIT may have been
   * applied with the answer lost (the connection ended under it). Whether it was is read back, a few
   * times over about two seconds. Committed: what it logged is published and what it started handed
   * over (`starts`, as its statements returned them), as if the answer had come; a write of the batch
   * again would change nothing, its events would never be published, and the dependents it started
   * would wait on this worker for the scheduler to find them lost, an attempt spent. Not committed, or
   * not readable: null, and the batch is written again.
   */
  private async committedAfterAll(items: CompleteItem[], error: unknown): Promise<Moved<MovedJob> | null> {
    for (let read = 0; read < 4; read++) {
      if (read > 0) await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (read - 1)));
      try {
        const committed = await this.outcomes.committed(items);
        if (committed) this.logger.warn({ err: error, jobs: committed.jobs.length }, 'completions committed though the answer to their COMMIT was lost: publishing their events and handing over what they started');
        return committed;
      } catch {
        // still unreadable: ask again
      }
    }
    return null;
  }

  /** Ends a claim of released dependents (startReleased): their starts are no longer on their way. */
  private settleClaim(claim: ReleasedClaim | null, started: Parameters<ReleasedClaim['settle']>[0]): void {
    if (!claim) return;
    this.trackStarts(claim.placements.flatMap((p) => p.ids), -1);
    claim.settle(started);
  }

  /** Inside a completion's transaction: places and starts what `starter` claims of the released dependents. */
  private async startReleased(
    starter: ReleasedStarter,
    released: readonly ReleasedJob[],
    completedIds: readonly string[],
    tx: EntityManager,
    claimed: { claim: ReleasedClaim | null },
    starts: Array<{ workerId: string; moved: Moved<RunnableJob> & { withDependencies: Set<string> } }>,
  ): Promise<Moved<MovedJob>> {
    const claim = starter.claim(released, completedIds);
    claimed.claim = claim;
    if (!claim) return NOTHING_MOVED;
    // Tracked until the transaction ends (flushCompletions): their start may commit with its answer lost.
    this.trackStarts(claim.placements.flatMap((p) => p.ids), 1);
    for (const { workerId, ids } of claim.placements) {
      starts.push({ workerId, moved: await this.placements.placeAndStart(ids, workerId, claim.epoch, tx) });
    }
    return mergeMoved<MovedJob>(...starts.map((s) => s.moved));
  }

  /** Each run that ended, by its outcome: the job's new status, or for a job gone back to `pending` (a retry due) how its attempt ended. */
  observeRuns(moved: Moved<MovedJob>, outcomeOf: (jobId: string) => string): void {
    for (const job of moved.jobs) {
      // A run ended by this move leaves the job completed, failed, timed out, or pending for its retry. Not
      // `running`: the dependents a completion started in its own transaction are moved with it.
      if (!job.startedAt || !RUN_ENDED_IN.has(job.status)) continue;
      const seconds = (databaseTime.now() - job.startedAt.getTime()) / 1000;
      this.metrics.runDuration.observe({ type: job.type, outcome: job.status === 'pending' ? outcomeOf(job.id) : job.status }, seconds);
    }
  }
}
