import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { setLongTimeout } from '../common/long-timeout.js';
import type { DispatchedJobData } from '../dispatch/job-dispatcher.js';
import { JobEventBus } from '../events/job-event-bus.js';
import { TIMEOUT, WORKER_SHUTDOWN } from '../jobs/domain/error-codes.js';
import { dependencyResultsTooLarge, readDependencyResults } from './dependency-reads.js';
import type { RunnableJob } from '../jobs/job-row.js';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { WorkerLease } from './domain/worker-lease.js';
import { isNonRetryable, type DependencyResult, type JobContext, type JobLogger } from './job-handler.decorator.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { WorkerIdentity } from './worker-identity.js';
import { describeError } from './handler-error.js';
import { storableText } from '../common/json-limits.js';
import { within } from '../common/within.js';

/** How long a cancelled job's handler may take to stop before its resources are released anyway. */
export const CANCEL_GRACE_MS = 5000;

type StopReason = 'timeout' | 'cancelled' | 'shutdown' | 'lost';

/** Whether `outcome` settled within `ms` (it never rejects: handlers' outcomes are wrapped). */
const settledWithin = (outcome: Promise<unknown>, ms: number): Promise<boolean> => within(outcome.then(() => true), ms, false);

interface Execution {
  job: RunnableJob;
  attempt: number;
  /**
   * Made when the handler first reads `ctx.signal` (aborted at once if the job was stopped before):
   * an AbortSignal costs ~4 µs to make and its listener as much again, about 2 % of a no-op job's CPU,
   * and a handler that never looks at it does not need one.
   */
  controller?: AbortController;
  stopReason?: StopReason;
  /** Ends the wait for the handler's outcome when the job is stopped. */
  onStop: () => void;
  /** Resolves when the execution is over (its outcome stored, or given up on). */
  settled: Promise<void>;
}

class StopSignal extends Error {
  constructor(readonly reason: StopReason) {
    super(`job stopped: ${reason}`);
    this.name = reason === 'timeout' ? 'TimeoutError' : 'AbortError';
  }
}

/**
 * Runs one dispatched job through its handler (DESIGN §5): the guarded start, the context, the
 * timeout, cancellation from any process, the worker's lease, and the outcome (OutcomeRecorder).
 * Never throws: every outcome is a transition (or nothing, when the job was no longer ours). An
 * execution stays listed (`executingJobIds`, which the heartbeat reports) until its outcome is stored.
 */
@Injectable()
export class ExecutionService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ExecutionService.name);
  /** By `<job id>:<attempt>`: an attempt whose outcome is still being stored may meet the next one here. */
  private readonly running = new Map<string, Execution>();
  /** Starts sent and not answered yet: the drain waits for them too (each may begin a handler). */
  private starting = 0;
  private draining = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly identity: WorkerIdentity,
    private readonly lifecycle: JobLifecycleService,
    private readonly handlers: JobHandlerRegistry,
    private readonly bus: JobEventBus,
    private readonly recorder: OutcomeRecorder,
    private readonly lease: WorkerLease,
  ) {}

  onModuleInit(): void {
    // A cancel made through any API instance reaches the worker running the job through the bus.
    this.unsubscribe = this.bus.subscribe((event) => {
      if (event.event === 'job_cancelled') this.stop(event.jobId, 'cancelled');
    });
  }

  /** Not before: a cancel must still reach the jobs that run while the worker drains. */
  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }

  get activeCount(): number {
    return this.running.size;
  }

  runningJobs(): RunnableJob[] {
    return [...this.running.values()].map((e) => e.job);
  }

  /** The jobs this worker executes or is starting, for its heartbeat (see WorkerRepository.heartbeat). */
  executingJobIds(): string[] {
    const ids = new Set(this.lifecycle.startingJobIds());
    for (const execution of this.running.values()) ids.add(execution.job.id);
    return [...ids];
  }

  /** The worker drains: no job is started from now on (one handed over stays placed, and the drain hands it back). */
  drain(): void {
    this.draining = true;
  }

  /** Aborts a running job's signal (no-op when it does not run here). */
  stop(jobId: string, reason: StopReason): void {
    for (const execution of this.running.values()) {
      if (execution.job.id === jobId) this.stopExecution(execution, reason);
    }
  }

  /**
   * The worker's lease lapsed: aborts every running handler, and stores no outcome for them (the
   * scheduler fails them as WORKER_LOST, or OUTCOME_LOST). Returns the jobs that were running.
   */
  fence(): string[] {
    for (const execution of this.running.values()) this.stopExecution(execution, 'lost');
    return [...this.running.values()].map((e) => e.job.id);
  }

  /**
   * Waits until no job runs here, none is starting, and `held` says nothing waits either, or the
   * deadline passes. Starting counts the place-and-starts of this process's scheduler on their way
   * (a pass, a completion starting its dependents: they may be handed here started) as well as the
   * worker's own. Returns the jobs still running.
   */
  async waitIdle(deadlineMs: number, held: () => boolean = () => false): Promise<RunnableJob[]> {
    const deadline = performance.now() + deadlineMs;
    const busy = () => this.running.size > 0 || this.starting > 0 || this.lifecycle.startingJobIds().length > 0 || held();
    while (busy() && performance.now() < deadline) {
      await Promise.race([
        this.running.size > 0 ? Promise.all([...this.running.values()].map((e) => e.settled)) : new Promise((resolve) => setTimeout(resolve, 10)),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(100, deadline - performance.now())))),
      ]);
      await new Promise((resolve) => setImmediate(resolve)); // never spin on microtasks alone
    }
    return this.runningJobs();
  }

  async run({ jobId, attempt, started: handedOver }: DispatchedJobData): Promise<void> {
    if (this.lease.isLapsed(performance.now())) {
      // Fenced until a heartbeat renews the lease: a job handed over started is failed as lost by the
      // scheduler; one not started yet stays placed and is handed over again.
      this.logger.warn({ jobId, attempt }, 'not running the job: this worker could not renew its lease in time');
      return;
    }
    // Handed over by the scheduler of this process, which started it already (one statement).
    if (handedOver) return this.execute(handedOver.job, handedOver.job.attempts, handedOver.hasDependencies);
    if (this.draining) return; // stays placed: the drain hands it back
    let started;
    const lapses = this.lease.lapses;
    this.starting += 1;
    try {
      started = await this.lifecycle.start(jobId, attempt, this.identity.id);
    } catch (error) {
      // Its start may have been stored with the answer lost: the scheduler then fails it as OUTCOME_LOST.
      this.logger.error({ err: error, jobId, attempt }, 'could not start job; the scheduler will hand it over again');
      return;
    } finally {
      this.starting -= 1;
    }
    if (!started) return; // cancelled, re-placed or already started: not ours to run
    if (this.lease.isLapsed(performance.now()) || this.lease.lapses !== lapses) {
      // Fenced while the start was on its way (and maybe renewed since): the worker may have been declared
      // lost and the job run elsewhere, so its handler does not begin here. Listed nowhere, it is failed
      // as OUTCOME_LOST (or WORKER_LOST) and retried.
      this.logger.warn({ jobId, attempt }, 'not running the job: this worker lost its lease while starting it');
      return;
    }
    await this.execute(started.job, attempt, started.hasDependencies);
  }

  private stopExecution(execution: Execution, reason: StopReason): void {
    if (execution.stopReason) return;
    execution.stopReason = reason;
    execution.controller?.abort(new StopSignal(reason));
    execution.onStop();
  }

  private async execute(job: RunnableJob, attempt: number, hasDependencies: boolean): Promise<void> {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    let onStop!: () => void;
    const aborted = new Promise<'aborted'>((resolve) => (onStop = () => resolve('aborted')));
    const execution: Execution = { job, attempt, settled, onStop };
    const key = `${job.id}:${attempt}`;
    if (this.running.has(key)) {
      this.logger.warn({ jobId: job.id, attempt }, 'this attempt already runs here: the repeated hand-over is dropped');
      return;
    }
    this.running.set(key, execution);
    const timer = setLongTimeout(() => this.stopExecution(execution, 'timeout'), job.timeoutSeconds * 1000);
    try {
      const handler = this.handlers.get(job.type);
      const read = hasDependencies
        ? await this.recorder.read('dependency results', job, attempt, () => execution.stopReason !== undefined, () => readDependencyResults(this.lifecycle, job.id))
        : { results: new Map<string, DependencyResult>() };
      // Stopped while its dependencies were read (cancelled, timed out, fenced): the handler does not begin.
      if (execution.stopReason) return await this.afterStop(execution, Promise.resolve());
      // Another attempt would read the same results: the job fails at once.
      if (read.tooLarge !== undefined) return await this.recorder.fail(job, attempt, 'failed', dependencyResultsTooLarge(read.tooLarge), { retry: false });
      const dependencyResults = read.results;
      const ctx: JobContext = {
        get signal() {
          return signalOf(execution);
        },
        attempt,
        idempotencyKey: job.id,
        log: this.jobLogger(job.id, attempt),
        progress: (percent, data) => this.progress(job.id, attempt, percent, data),
        dependencyResults,
      };
      const outcome = Promise.resolve()
        .then(() => handler.handle({ id: job.id, type: job.type, attempt, payload: job.payload }, ctx))
        .then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );
      const first = await Promise.race([outcome, aborted]);
      timer.clear();
      if (first === 'aborted' || execution.stopReason) await this.afterStop(execution, outcome);
      else if (first.ok) await this.recorder.complete(job, attempt, first.value);
      else await this.recorder.fail(job, attempt, 'failed', describeError(first.error), { retry: !isNonRetryable(first.error) });
    } catch (error) {
      if (execution.stopReason) await this.afterStop(execution, Promise.resolve());
      else {
        this.logger.error({ err: error, jobId: job.id, type: job.type, attempt }, 'job execution failed unexpectedly');
        await this.recorder.fail(job, attempt, 'failed', describeError(error));
      }
    } finally {
      timer.clear();
      settle();
      if (this.running.get(key) === execution) this.running.delete(key);
    }
  }

  /** After the signal aborted: record the outcome now, without waiting for a handler that may never return. */
  private async afterStop(execution: Execution, outcome: Promise<unknown>): Promise<void> {
    const { job, attempt, stopReason } = execution;
    if (stopReason === 'timeout') {
      // The late result, if any, is discarded: the job leaves running now, and its resources are free
      // (DESIGN §5). A handler that ignores the signal goes on beside them: say so, once.
      await this.recorder.fail(job, attempt, 'timeout', { code: TIMEOUT, message: `the job ran longer than its timeout_seconds (${job.timeoutSeconds} s)` });
      void settledWithin(outcome, CANCEL_GRACE_MS).then((settled) => {
        if (settled) return;
        this.logger.warn(
          { jobId: job.id, type: job.type, attempt },
          `the handler is still running ${CANCEL_GRACE_MS / 1000} s after its job timed out: it does not honour ctx.signal, so it runs beside the job's next attempt and the worker's other jobs`,
        );
      });
      return;
    }
    if (stopReason === 'cancelled') {
      // Its resources stay booked until the handler stops, or the grace period ends.
      await settledWithin(outcome, CANCEL_GRACE_MS);
      return this.recorder.releaseIfCancelled(job.id, attempt);
    }
    if (stopReason === 'shutdown') {
      // Released for a retry elsewhere (DESIGN §5), its attempt given back: a job on its last attempt
      // must not end failed, nor its dependents be cancelled, because its worker was stopped.
      const message = `worker ${this.identity.id} stopped before the job finished; it is released for a retry`;
      return this.recorder.fail(job, attempt, 'failed', { code: WORKER_SHUTDOWN, message, worker_id: this.identity.id }, { release: true });
    }
    // lost: the scheduler fails the job (WORKER_LOST, or OUTCOME_LOST when this worker fenced itself in time).
  }

  /** Log lines are kept on a best-effort basis: a line PostgreSQL could not take must not fail the handler. */
  private jobLogger(jobId: string, attempt: number): JobLogger {
    const write = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, data?: Record<string, unknown>) =>
      this.lifecycle.log(jobId, attempt, level, storableText(String(message), 10_000), data).catch((error: unknown) => {
        this.logger.warn({ err: (error as Error).message, jobId, attempt }, 'could not store a log line of the job');
      });
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
  }

  /** Like log lines, progress is best effort. */
  private async progress(jobId: string, attempt: number, percent: number, data?: Record<string, unknown>): Promise<void> {
    if (typeof percent !== 'number' || !Number.isFinite(percent)) throw new TypeError('progress(percent): percent must be a number');
    await this.lifecycle.progress(jobId, attempt, Math.min(100, Math.max(0, percent)), data).catch((error: unknown) => {
      this.logger.warn({ err: (error as Error).message, jobId, attempt }, 'could not store the progress of the job');
    });
  }
}

/** The execution's signal, made on first use; aborted already when the job was stopped before that. */
function signalOf(execution: Execution): AbortSignal {
  if (!execution.controller) {
    execution.controller = new AbortController();
    if (execution.stopReason) execution.controller.abort(new StopSignal(execution.stopReason));
  }
  return execution.controller.signal;
}
