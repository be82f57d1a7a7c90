import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { DispatchedJobData } from '../dispatch/job-dispatcher.js';
import { JobEventBus } from '../events/job-event-bus.js';
import type { RunnableJob } from '../jobs/job-row.js';
import { JobLifecycleService, MAX_RESULT_BYTES } from '../jobs/job-lifecycle.service.js';
import { isNonRetryable, type DependencyResult, type JobContext, type JobLogger } from './job-handler.decorator.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { WorkerIdentity } from './worker-identity.js';

/** How long a cancelled job's handler may take to stop before its resources are released anyway. */
export const CANCEL_GRACE_MS = 5000;

type StopReason = 'timeout' | 'cancelled' | 'shutdown' | 'lost';

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
  /** Resolves when the execution is over (its outcome recorded, or given up on). */
  settled: Promise<void>;
  /** Lets run() stop waiting for a handler that will not return. */
  giveUp: () => void;
}

class StopSignal extends Error {
  constructor(readonly reason: StopReason) {
    super(`job stopped: ${reason}`);
    this.name = reason === 'timeout' ? 'TimeoutError' : 'AbortError';
  }
}

/**
 * Runs one dispatched job through its handler (DESIGN §5): the guarded start, the context,
 * the timeout, cancellation from any process, and the outcome. Never throws: every outcome is a
 * transition (or nothing, when the job was no longer ours).
 */
@Injectable()
export class ExecutionService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ExecutionService.name);
  private readonly running = new Map<string, Execution>();
  private unsubscribe?: () => void;

  constructor(
    private readonly identity: WorkerIdentity,
    private readonly lifecycle: JobLifecycleService,
    private readonly handlers: JobHandlerRegistry,
    private readonly bus: JobEventBus,
  ) {}

  onModuleInit(): void {
    // A cancel made through any API instance reaches the worker running the job through the bus.
    this.unsubscribe = this.bus.subscribe((event) => {
      if (event.event === 'job_cancelled') this.stop(event.jobId, 'cancelled');
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  get activeCount(): number {
    return this.running.size;
  }

  runningJobs(): RunnableJob[] {
    return [...this.running.values()].map((e) => e.job);
  }

  /** Aborts a running job's signal (no-op when it does not run here). */
  stop(jobId: string, reason: StopReason): void {
    const execution = this.running.get(jobId);
    if (!execution || execution.stopReason) return;
    execution.stopReason = reason;
    execution.controller?.abort(new StopSignal(reason));
    execution.onStop();
  }

  /** Waits until no job runs here, or the deadline passes. Returns the jobs still running. */
  async waitIdle(deadlineMs: number): Promise<RunnableJob[]> {
    const deadline = Date.now() + deadlineMs;
    while (this.running.size > 0 && Date.now() < deadline) {
      await Promise.race([
        Promise.all([...this.running.values()].map((e) => e.settled)),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(100, deadline - Date.now())))),
      ]);
      await new Promise((resolve) => setImmediate(resolve)); // never spin on microtasks alone
    }
    return this.runningJobs();
  }

  async run({ jobId, attempt, started: handedOver }: DispatchedJobData): Promise<void> {
    // Handed over by the scheduler of this process, which started it already (one statement).
    if (handedOver) return this.execute(handedOver.job, handedOver.job.attempts, handedOver.hasDependencies);
    let started;
    try {
      started = await this.lifecycle.start(jobId, attempt, this.identity.id);
    } catch (error) {
      this.logger.error({ err: error, jobId, attempt }, 'could not start job; the scheduler will hand it over again');
      return;
    }
    if (!started) return; // cancelled, re-placed or already started: not ours to run
    await this.execute(started.job, attempt, started.hasDependencies);
  }

  private async execute(job: RunnableJob, attempt: number, hasDependencies: boolean): Promise<void> {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    let giveUp!: () => void;
    const givenUp = new Promise<'given_up'>((resolve) => (giveUp = () => resolve('given_up')));
    let onStop!: () => void;
    const aborted = new Promise<'aborted'>((resolve) => (onStop = () => resolve('aborted')));
    const execution: Execution = { job, attempt, settled, giveUp, onStop };
    this.running.set(job.id, execution);
    const log = { jobId: job.id, type: job.type, attempt };
    const timer = setTimeout(() => this.stop(job.id, 'timeout'), job.timeoutSeconds * 1000);
    try {
      const handler = this.handlers.get(job.type);
      const ctx: JobContext = {
        get signal() {
          return signalOf(execution);
        },
        log: this.jobLogger(job.id, attempt),
        progress: (percent, data) => this.progress(job.id, attempt, percent, data),
        dependencyResults: hasDependencies ? await this.dependencyResults(job.id) : new Map(),
      };
      const outcome = Promise.resolve()
        .then(() => handler.handle({ id: job.id, type: job.type, attempt, payload: job.payload }, ctx))
        .then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );

      const first = await Promise.race([outcome, aborted]);
      if (first === 'aborted') {
        await this.afterStop(execution, outcome, givenUp);
        return;
      }
      if (execution.stopReason) {
        await this.afterStop(execution, outcome, givenUp);
        return;
      }
      if (first.ok) await this.succeed(job, attempt, first.value);
      else await this.lifecycle.fail(job, attempt, 'failed', describeError(first.error), { retry: !isNonRetryable(first.error) });
    } catch (error) {
      this.logger.error({ err: error, ...log }, 'job execution failed unexpectedly');
      await this.lifecycle.fail(job, attempt, 'failed', describeError(error)).catch(() => undefined);
    } finally {
      clearTimeout(timer);
      settle();
      this.running.delete(job.id);
    }
  }

  private async succeed(job: RunnableJob, attempt: number, value: unknown): Promise<void> {
    const result = value === undefined ? null : value;
    let size: number;
    try {
      size = Buffer.byteLength(JSON.stringify(result) ?? 'null');
    } catch (error) {
      await this.lifecycle.fail(job, attempt, 'failed', { code: 'RESULT_NOT_JSON', message: `the result cannot be stored as JSON: ${(error as Error).message}` });
      return;
    }
    if (size > MAX_RESULT_BYTES) {
      await this.lifecycle.fail(job, attempt, 'failed', { code: 'RESULT_TOO_LARGE', message: `the result is ${size} bytes; at most ${MAX_RESULT_BYTES} are stored` });
      return;
    }
    const completed = await this.lifecycle.complete(job.id, attempt, result);
    if (!completed) await this.releaseIfCancelled(job.id);
  }

  /** After the signal aborted: record the outcome now, without waiting for a handler that may never return. */
  private async afterStop(execution: Execution, outcome: Promise<unknown>, givenUp: Promise<'given_up'>): Promise<void> {
    const { job, attempt, stopReason } = execution;
    if (stopReason === 'timeout') {
      await this.lifecycle.fail(job, attempt, 'timeout', {
        code: 'TIMEOUT',
        message: `the job ran longer than its timeout_seconds (${job.timeoutSeconds} s)`,
      });
      return; // the late result, if any, is discarded: the job has left running
    }
    if (stopReason === 'cancelled') {
      // Its resources stay booked until the handler stops, or the grace period ends.
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise((resolve) => (graceTimer = setTimeout(resolve, CANCEL_GRACE_MS)));
      await Promise.race([outcome, givenUp, grace]);
      clearTimeout(graceTimer);
      await this.releaseIfCancelled(job.id);
      return;
    }
    if (stopReason === 'shutdown') {
      await this.lifecycle.fail(job, attempt, 'failed', {
        code: 'WORKER_SHUTDOWN',
        message: `worker ${this.identity.id} stopped before the job finished; it is released for a retry`,
        worker_id: this.identity.id,
      });
    }
    // lost: the scheduler already failed the job with WORKER_LOST.
  }

  private async releaseIfCancelled(jobId: string): Promise<void> {
    if (await this.lifecycle.releaseCancelled(jobId)) {
      await this.bus.signal({ kind: 'capacity_freed', workerId: this.identity.id }).catch(() => undefined);
    }
  }

  private async dependencyResults(jobId: string): Promise<Map<string, DependencyResult>> {
    const results = new Map<string, DependencyResult>();
    for (const dep of await this.lifecycle.dependencyResults(jobId)) {
      results.set(dep.id, dep);
      if (dep.ref && !results.has(dep.ref)) results.set(dep.ref, dep);
    }
    return results;
  }

  private jobLogger(jobId: string, attempt: number): JobLogger {
    const write = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, data?: Record<string, unknown>) =>
      this.lifecycle.log(jobId, attempt, level, String(message).slice(0, 10_000), data);
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
  }

  private async progress(jobId: string, attempt: number, percent: number, data?: Record<string, unknown>): Promise<void> {
    if (typeof percent !== 'number' || !Number.isFinite(percent)) throw new TypeError('progress(percent): percent must be a number');
    await this.lifecycle.progress(jobId, attempt, Math.min(100, Math.max(0, percent)), data);
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

/** A handler's error as stored in the job (DESIGN §2: code HANDLER_ERROR), without a stack. */
export function describeError(error: unknown): { code: string; message: string; [extra: string]: unknown } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      code: 'HANDLER_ERROR',
      message: error.message.slice(0, 2000) || error.name,
      name: error.name,
      ...(typeof code === 'string' || typeof code === 'number' ? { cause_code: String(code) } : {}),
      ...(isNonRetryable(error) ? { retryable: false } : {}),
    };
  }
  return { code: 'HANDLER_ERROR', message: String(error).slice(0, 2000) };
}
