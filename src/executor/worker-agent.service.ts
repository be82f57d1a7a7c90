import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { AppConfig } from '../config/app-config.js';
import { JobEventBus } from '../events/job-event-bus.js';
import { PlacementsService } from '../resources/placements.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { processIsAlive } from '../common/process-alive.js';
import { awaitWorkerIdFree, WorkerIdInUseError } from './worker-id-claim.js';
import { heartbeatPatienceMs, leaseCheckMs, registersAgainAfterRefusal, WorkerLease } from './domain/worker-lease.js';

/** Heartbeats given up on and still under way, past which no new one is sent (they would only pile up on a database that answers slowly). */
const MAX_ABANDONED_BEATS = 3;
import { ExecutionProcessor } from './execution.processor.js';
import { ExecutionService } from './execution.service.js';
import { WorkerIdentity } from './worker-identity.js';
import { HeartbeatConnection } from './heartbeat-connection.js';
import { within } from '../common/within.js';
import { BOOT_DATABASE_WAIT_MS, whileDatabaseAway, writeUntil } from './write-retries.js';

/**
 * The worker's life (DESIGN §4, §5): registers its capacity, heartbeats (each beat says what the
 * worker executes), consumes its queue, and on SIGTERM drains: stops taking work, lets running jobs
 * finish within SHUTDOWN_GRACE_MS, releases the rest for a retry elsewhere, and deregisters.
 * Every accepted heartbeat renews the worker's lease (domain/worker-lease.ts); a watchdog fences the
 * worker the moment the lease lapses (a pause, a frozen VM, PostgreSQL out of reach): its running
 * jobs are aborted before the scheduler can run them elsewhere, and none is started until a
 * heartbeat gets through again.
 */
@Injectable()
export class WorkerAgent implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerAgent.name);
  private heartbeatTimer?: NodeJS.Timeout;
  private watchdogTimer?: NodeJS.Timeout;
  private beating = false;
  private readingCancels = false;
  /** The number of the last heartbeat sent (heartbeat_seq: a late beat of a lower number changes nothing). */
  private sent = 0;
  /** Heartbeats given up on (heartbeatPatienceMs) whose statements have not ended yet. */
  private abandonedBeats = 0;
  /** Set when shutdown begins: from then on the worker never registers again. */
  private stopping = false;
  /** Set when another process registered under this worker's id: nothing of the row is this process's any more. */
  private replaced = false;
  /** What a replaced worker does once its jobs are aborted: the process stops (as on SIGTERM; its drain writes nothing). */
  onReplaced: () => void = () => process.kill(process.pid, 'SIGTERM');

  constructor(
    private readonly config: AppConfig,
    private readonly identity: WorkerIdentity,
    private readonly resources: ResourcesService,
    private readonly placements: PlacementsService,
    private readonly processor: ExecutionProcessor,
    private readonly executions: ExecutionService,
    private readonly bus: JobEventBus,
    private readonly lease: WorkerLease,
    private readonly beats: HeartbeatConnection,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const deadline = performance.now() + BOOT_DATABASE_WAIT_MS;
    let warned = false;
    const warn = (error: unknown) => {
      if (!warned) this.logger.warn({ err: (error as Error).message }, 'PostgreSQL did not take the worker’s registration; trying again');
      warned = true;
    };
    const replacing = await whileDatabaseAway(deadline, warn, () =>
      awaitWorkerIdFree(this.identity, () => this.resources.beatOf(this.identity.id), {
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        leaseMs: this.lease.leaseMs,
        drainWaitMs: this.config.shutdownGraceMs + 20_000,
        isAlive: processIsAlive,
      }),
    );
    if (!(await whileDatabaseAway(deadline, warn, () => this.register(replacing)))) {
      // Another process registered under the id while this one looked at its row.
      const holder = await this.resources.beatOf(this.identity.id);
      throw new WorkerIdInUseError(this.identity.id, holder?.host ?? 'another host', holder?.pid ?? 0);
    }
    await this.takeBackEarlierPlacements();
    await this.processor.start();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.config.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    this.watchdogTimer = setInterval(() => this.checkLease(), leaseCheckMs(this.lease.leaseMs));
    this.watchdogTimer.unref();
    this.logger.log(
      `worker ${this.identity.id} ready: ${this.identity.maxConcurrentJobs} slots, ${this.identity.maxCpuUnits} cpu units, ${this.identity.maxMemoryMb} MB`,
    );
  }

  /**
   * The drain (DESIGN §5): no start from now on, then the jobs running finish within SHUTDOWN_GRACE_MS
   * (or are released for a retry), the placements not started are handed back, and the worker is
   * marked stopped. Each write to PostgreSQL is tried again until the grace period ends: one failed
   * statement (PostgreSQL restarting) must not skip the rest, nor the wait for the jobs that run.
   * Heartbeats and the lease watchdog go on until the jobs have stopped: a worker finishing its jobs
   * must not be declared lost, and one that is cut off still aborts them.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const deadline = performance.now() + this.config.shutdownGraceMs;
    this.executions.drain();
    const { id, bootToken } = this.identity;
    try {
      if (this.replaced) {
        // The row, its placements, its jobs and its queue (named by the worker id) are the new
        // holder's: this process only lets go, removing nothing.
        await this.executions.waitIdle(5000);
        await this.processor.letGo();
        return;
      }
      await this.persist('mark the worker draining', deadline, () => this.resources.setStatus(id, bootToken, 'draining'));
      await this.signal();
      await this.processor.pause();
      const running = this.executions.activeCount;
      if (running > 0) {
        this.logger.log(
          { jobs: running, graceMs: this.config.shutdownGraceMs },
          `shutting down: waiting up to ${this.config.shutdownGraceMs / 1000} s (SHUTDOWN_GRACE_MS) for ${running} running job${running === 1 ? '' : 's'} to finish; then they are released for a retry`,
        );
      }
      // Jobs handed over started and held by the queue for a slot are run too, then waited for.
      const held = () => this.processor.heldStartedJobIds().length > 0;
      const left = await this.executions.waitIdle(Math.max(0, deadline - performance.now()), held);
      if (left.length > 0) {
        this.logger.warn({ jobs: left.map((j) => j.id) }, 'shutdown grace period over: releasing running jobs for a retry');
        for (const job of left) this.executions.stop(job.id, 'shutdown');
        await this.executions.waitIdle(5000);
      }
      await this.persist('hand back its placements', deadline, async () => {
        if (this.replaced) return;
        const placed = (await this.placements.allocatedOn([id])).filter((j) => j.status === 'ready');
        await this.placements.unplace(placed.map((j) => j.id), null); // its own placements: no leadership to fence
      });
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      await this.persist('mark the worker stopped', deadline, () => this.resources.setStatus(id, bootToken, 'stopped'));
      await this.signal();
      // Replaced during the drain: the queue is the new holder's.
      await (this.replaced ? this.processor.letGo() : this.processor.discard());
    } catch (error) {
      this.logger.error({ err: error }, 'worker shutdown did not complete cleanly; the scheduler will declare it lost');
    } finally {
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    }
  }

  /** Runs a write of the drain, again after a failure (backing off) until `deadline`; then gives up on it and goes on. */
  private persist(what: string, deadline: number, write: () => Promise<unknown>): Promise<void> {
    return writeUntil(deadline, write, {
      retrying: (error) => this.logger.warn({ err: (error as Error).message }, `shutdown: could not ${what}; trying again`),
      givingUp: (error) => this.logger.error({ err: error }, `shutdown: could not ${what}; going on without it (the scheduler repairs it)`),
    });
  }

  /** Registers this process under its id (taking the row from `replacing`, a holder judged gone); false when another holds it. */
  private async register(replacing: string | null): Promise<boolean> {
    const sentAt = performance.now();
    if (!(await this.resources.register(this.identity, replacing))) return false;
    this.renewed(sentAt);
    await this.signal();
    return true;
  }

  /**
   * Before the first hand-over is taken from the queue: the placements on this id not started (those a
   * process that died under it had not started, made for its capacity) go back to the scheduler, which
   * places them against this process's capacity (their old hand-overs in the queue then start nothing).
   * A failure leaves them to the scheduler's stale hand-over check.
   */
  private async takeBackEarlierPlacements(): Promise<void> {
    try {
      const taken = await this.placements.unplaceAllOn(this.identity.id);
      if (taken.length === 0) return;
      this.logger.warn({ jobs: taken.length }, 'jobs placed on this WORKER_ID before this process took it were not started: handed back to be placed again');
      await this.bus.signal({ kind: 'capacity_freed', workerId: this.identity.id }).catch(() => undefined);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not hand back the placements of an earlier process under this WORKER_ID');
    }
  }

  /**
   * Another process registered under this worker's id (this one was frozen or cut off past its lease,
   * and taken for gone): the leader has failed this process's running jobs and runs them again, so they
   * are aborted, nothing starts here any more, and the process stops without writing to the row.
   */
  private replacedByAnother(): void {
    if (this.replaced) return;
    this.replaced = true;
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.executions.drain();
    // Stop pulling from the queue at once: it is the new holder's (named by the worker id), and each
    // hand-over this process took would be dropped unrun, for the leader to hand over again 5 s later.
    void this.processor.pause();
    const aborted = this.executions.fence();
    this.logger.error(
      { workerId: this.identity.id, jobs: aborted },
      `another process registered under WORKER_ID ${this.identity.id} while this one was silent past its lease: aborting the running jobs ` +
        '(they run again under the new holder) and stopping. Give each worker process its own WORKER_ID.',
    );
    this.onReplaced();
  }

  /** Fences the worker when its lease lapsed: aborts every running job (their outcomes are not stored). The watchdog's tick. */
  checkLease(): void {
    const now = performance.now();
    if (!this.lease.fenceIfLapsed(now)) return;
    const aborted = this.executions.fence();
    this.logger.error(
      { silentMs: Math.round(this.lease.silentFor(now)), leaseMs: this.lease.leaseMs, jobs: aborted },
      'no heartbeat accepted within the lease: aborting the running jobs (the scheduler runs them again elsewhere) until a heartbeat gets through',
    );
  }

  private renewed(sentAt: number): void {
    this.lease.renew(sentAt);
    if (this.lease.liftFence(performance.now())) {
      this.logger.warn('heartbeat accepted again: the lease is renewed, the worker takes jobs again');
    }
  }

  /** One heartbeat (the heartbeat timer's tick; a beat already under way makes it a no-op). */
  async heartbeat(): Promise<void> {
    if (this.beating || this.replaced || this.abandonedBeats >= MAX_ABANDONED_BEATS) return;
    this.beating = true;
    try {
      // First of all, after a pause: a lease that ran out is noticed before anything else is done.
      this.checkLease();
      const sentAt = performance.now();
      const executing = [...this.executions.executingJobIds(), ...this.processor.heldStartedJobIds()];
      const beat = this.resources.heartbeat(this.identity.id, this.identity.bootToken, executing, ++this.sent, this.beats);
      const answer = await this.withinPatience(beat);
      if (!answer || this.replaced) return;
      const { alive, replaced } = answer;
      if (replaced) {
        this.replacedByAnother();
      } else if (alive) {
        this.renewed(sentAt);
        void this.stopCancelled();
      } else {
        // Declared lost (e.g. after a long pause): its jobs were failed and will run elsewhere.
        for (const job of this.executions.runningJobs()) this.executions.stop(job.id, 'lost');
        if (!registersAgainAfterRefusal(this.stopping)) return;
        this.logger.warn('this worker was declared lost: abandoning its running jobs and registering again');
        if (!(await this.register(this.identity.bootToken))) this.replacedByAnother();
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'heartbeat failed');
    } finally {
      this.beating = false;
    }
  }

  /**
   * A cancel whose event did not arrive: the handler is stopped one heartbeat later at most. Read apart
   * from the beat, and not waited for by the next one: a lock on `jobs` delays this read, never the lease.
   */
  private async stopCancelled(): Promise<void> {
    const running = this.executions.runningJobs().map((job) => job.id);
    if (this.readingCancels || running.length === 0) return;
    this.readingCancels = true;
    try {
      for (const id of await this.resources.cancelledAmong(running)) this.executions.stop(id, 'cancelled');
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not read which running jobs were cancelled; the next heartbeat reads it again');
    } finally {
      this.readingCancels = false;
    }
  }

  /**
   * The beat's answer, or undefined when it did not come within heartbeatPatienceMs: the beat is given
   * up on and the next one goes out on another connection. One statement stuck on a connection that fell
   * silent (DB_QUERY_TIMEOUT_MS closes it only after 30 s by default), or queued behind busy ones in the
   * pool, would otherwise hold every beat back past the lease: the worker would fence itself and be
   * declared lost, its jobs failed, with PostgreSQL answering on every other connection. A beat given up
   * on may still be applied later; its number keeps it from undoing a later one (heartbeat_seq).
   */
  private async withinPatience<T>(beat: Promise<T>): Promise<T | undefined> {
    const answer = await within(beat, heartbeatPatienceMs(this.config.heartbeatIntervalMs, this.lease.leaseMs), undefined);
    if (answer !== undefined) return answer;
    this.abandonedBeats += 1;
    this.beats.drop();
    this.logger.warn('a heartbeat got no answer in time: sending the next one on another connection');
    beat.then(
      () => (this.abandonedBeats -= 1),
      () => (this.abandonedBeats -= 1),
    );
    return undefined;
  }

  private async signal(): Promise<void> {
    await this.bus.signal({ kind: 'workers_changed', workerId: this.identity.id }).catch(() => undefined);
  }
}
