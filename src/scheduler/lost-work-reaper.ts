import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobDispatcher } from '../dispatch/job-dispatcher.js';
import { OUTCOME_LOST, WORKER_LOST } from '../jobs/domain/error-codes.js';
import type { Job } from '../jobs/entities/job.entity.js';
import { JobCancellationService } from '../jobs/job-cancellation.service.js';
import { JobFailureService } from '../jobs/job-failure.service.js';
import { JobQueueService } from '../jobs/job-queue.service.js';
import type { WorkerGone } from '../jobs/job-queue.service.js';
import { PlacementsService } from '../resources/placements.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { splitStale, STALE_HAND_OVERS, StaleHandOvers } from './domain/stale-placements.js';
import { SCHEDULER_TIMING } from './scheduler-timing.js';

/** How a job's error names what became of its worker (WorkerGone), given WORKER_LOST_SECONDS. */
const GONE_WORDS: Record<WorkerGone, (lostSeconds: number) => string> = {
  stopped: () => 'stopped',
  lost: (lostSeconds) => `was declared lost (no heartbeat for ${lostSeconds} s)`,
  restarted: () => 'restarted',
};

/**
 * The leader's repairs of work that nothing would ever finish (DESIGN §4), each failing the jobs
 * concerned by the retry rules, which releases their resources:
 * - the running and placed jobs of workers declared lost;
 * - jobs left running on stopped, lost or restarted workers;
 * - jobs running on a live worker that no longer executes them (OUTCOME_LOST): the worker's
 *   heartbeat says what it executes, so finding them costs no write per job; a running job keeps
 *   its place while its worker executes it and while its outcome is not yet stored, and loses it
 *   only when the worker let go of it without a stored outcome;
 * - placements their worker never started;
 * - the resources of cancelled jobs whose handlers did not stop in time.
 * The scheduler rebuilds its ledger after any of them changed something.
 *
 * Failing jobs and releasing cancelled ones never waits on a job row another transaction holds
 * (JobFailureService.failMany): such a job is being written right now, maybe by its own worker,
 * and a sweep that waited would keep a pooled connection for as long as the holder, one more each
 * second. It is skipped and stays as it is; the next sweep finds it again (reapOrphans: a job still
 * running on a lost worker; the stale-cancel release: a cancelled job still holding resources).
 */
@Injectable()
export class LostWorkReaper {
  private readonly logger = new Logger(LostWorkReaper.name);
  private readonly handOvers = new StaleHandOvers();
  /** The jobs the last reapOrphans found: those it finds again were left as they were (see reapOrphans). */
  private orphansLeft: ReadonlySet<string> = new Set();

  constructor(
    private readonly config: AppConfig,
    private readonly queue: JobQueueService,
    private readonly placements: PlacementsService,
    private readonly resources: ResourcesService,
    private readonly failures: JobFailureService,
    private readonly cancellations: JobCancellationService,
    private readonly dispatcher: JobDispatcher,
  ) {}

  /** Declares the workers silent for WORKER_LOST_SECONDS lost and reaps their work. True when there were any. */
  async reapSilentWorkers(epoch: number | null): Promise<boolean> {
    const lost = await this.resources.markSilentAsLost(this.config.workerLostSeconds);
    if (lost.length === 0) return false;
    await this.reapLostWorkers(lost, epoch);
    return true;
  }

  /** Fails the running jobs of workers just declared lost, takes their placements back, forgets their queues. */
  private async reapLostWorkers(workerIds: string[], epoch: number | null): Promise<void> {
    this.logger.warn({ workers: workerIds }, 'workers stopped heartbeating: declared lost');
    // What they hold, then their running jobs whole (failing follows each job's retry rules): a
    // placed job a lost worker started in between is failed, and taking it back finds it no longer placed.
    const jobs = await this.placements.allocatedOn(workerIds);
    const running = await this.queue.runningOn(workerIds);
    await this.fail(running, WORKER_LOST, (job) => `worker ${job.workerId} missed its heartbeats for ${this.config.workerLostSeconds} s`);
    await this.placements.unplace(jobs.filter((j) => j.status === 'ready').map((j) => j.id), epoch);
    for (const job of jobs.filter((j) => j.status === 'cancelled')) await this.cancellations.releaseCancelled(job.id, { workerId: job.workerId }, { skipLocked: true });
    for (const workerId of workerIds) await this.dispatcher.forget(workerId);
  }

  /**
   * Jobs left `running` on a worker that has stopped or was lost, or that started again under the
   * same WORKER_ID since (killed and restarted within WORKER_LOST_SECONDS): e.g. handed over by this
   * process's scheduler in the moment its worker began to stop, a failure a stopping worker could not
   * record, or the runs of a worker's previous life. Nothing will finish them.
   */
  async reapOrphans(): Promise<number> {
    const orphaned = await this.queue.runningOnGoneWorkers();
    const before = this.orphansLeft;
    this.orphansLeft = new Set(orphaned.map(({ job }) => job.id));
    if (orphaned.length === 0) return 0;
    // A job the previous sweep found already was left as it was (held by another transaction): said
    // once, not every second for as long as the holder keeps it.
    const repeat = orphaned.every(({ job }) => before.has(job.id));
    const level = repeat ? 'debug' : 'warn';
    this.logger[level]({ jobs: orphaned.map(({ job }) => job.id) }, 'jobs still running on stopped, lost or restarted workers: failing them as lost');
    const gone = new Map(orphaned.map(({ job, gone }) => [job.id, gone]));
    const moved = await this.fail(
      orphaned.map(({ job }) => job),
      WORKER_LOST,
      (job) => `worker ${job.workerId} ${GONE_WORDS[gone.get(job.id)!](this.config.workerLostSeconds)} while the job was running`,
      level,
    );
    if (moved === orphaned.length) this.orphansLeft = new Set();
    return moved;
  }

  /** Jobs running on a live worker that no longer executes them, and whose outcome was never stored. */
  async reapUnexecuted(): Promise<number> {
    const lost = await this.queue.runningNotExecuting();
    if (lost.length === 0) return 0;
    this.logger.warn({ jobs: lost.map((j) => j.id) }, 'jobs running on a live worker that no longer executes them: failing them as OUTCOME_LOST');
    return this.fail(lost, OUTCOME_LOST, (job) => `worker ${job.workerId} no longer runs this attempt, and its outcome was never recorded`);
  }

  /**
   * Placed jobs a worker has not started within the grace period are handed over again (Redis may
   * have lost them), or taken back when their worker is no longer live. When the dispatcher says its
   * queues were reset (Redis emptied), every placement not started is handed over again at once,
   * not after the grace period: the worker's start is guarded by attempt, so a copy that survived
   * anyway never starts a job twice. A placement handed over STALE_HAND_OVERS.max times and still not
   * started is taken back too, and its worker is named in `passOver`: it heartbeats, but does not take
   * what it is given (its link to Redis may be down), so the jobs go elsewhere. A placement of a
   * type in `regated` (rate-limited, paused, over a concurrency limit: regatedTypes) is taken back
   * instead of handed over again, to be placed through the queue rules (splitStale), and counted the
   * same way. Returns how many were taken back.
   */
  async reconcilePlacements(
    liveWorkerIds: ReadonlySet<string>,
    regated: ReadonlySet<string>,
    epoch: number | null,
  ): Promise<{ takenBack: number; passOver: string[] }> {
    this.dispatcher.closeQueuesExcept(liveWorkerIds);
    const reset = await this.dispatcher.queuesWereReset();
    const stale = await this.placements.stalePlacements(reset ? 0 : SCHEDULER_TIMING.placementGraceMs);
    if (reset && stale.length > 0) {
      this.logger.warn({ placed: stale.length }, 'the dispatch queues in Redis may have lost their content (their sentinel key was missing): handing every placement not started over again');
    }
    if (stale.length === 0) return { takenBack: 0, passOver: [] };
    const { handOver, placeAgain, orphaned } = splitStale(stale, liveWorkerIds, regated);
    // Both are counted: a worker that keeps not starting what it is given is passed over either way. Not
    // after a reset: Redis lost what every worker had been given, which says nothing of the workers (a
    // few resets in a row counted against them, and healthy workers were passed over for 30 s).
    const sorted = reset
      ? { again: [...handOver, ...placeAgain], takeBack: [] as typeof handOver }
      : this.handOvers.sort([...handOver, ...placeAgain], Date.now(), 4 * SCHEDULER_TIMING.placementGraceMs);
    const rated = new Set(placeAgain.map((s) => s.id));
    const again = sorted.again.filter((s) => !rated.has(s.id));
    const retaken = sorted.again.filter((s) => rated.has(s.id)).map((s) => s.id);
    const { takeBack } = sorted;
    if (again.length > 0) {
      if (!reset) this.logger.warn({ count: again.length }, 'placed jobs not started in time: handing them over again');
      try {
        await this.dispatcher.dispatch(again.map((s) => ({ workerId: s.workerId, jobId: s.id, attempt: s.attempts + 1 })), { again: true });
      } catch (error) {
        // Nothing reached the workers, which says nothing of them: a few failed sweeps in a row (Redis
        // refusing writes) would otherwise pass healthy workers over for 30 s once Redis was back.
        if (!reset) this.handOvers.uncount(sorted.again);
        throw error;
      }
      await this.placements.touchPlacements(again.map((s) => s.id));
    }
    const passOver = [...new Set(takeBack.map((s) => s.workerId))];
    if (takeBack.length > 0) {
      this.logger.warn(
        { jobs: takeBack.map((s) => s.id), workers: passOver },
        `placed jobs not started after ${STALE_HAND_OVERS.max} hand-overs: taking them back to place them elsewhere, and passing their workers over for ${STALE_HAND_OVERS.passOverMs / 1000} s (do they reach Redis?)`,
      );
    }
    return { takenBack: (await this.placements.unplace([...orphaned, ...retaken, ...takeBack.map((s) => s.id)], epoch)).length, passOver };
  }

  /** Releases the resources of cancelled jobs whose handlers did not stop within the grace period. */
  async releaseStaleCancels(): Promise<void> {
    const released = await this.placements.releaseStaleCancelled(SCHEDULER_TIMING.cancelGraceMs);
    if (released > 0) this.logger.warn({ released }, 'released resources of cancelled jobs whose handlers did not stop in time');
  }

  /**
   * Fails running jobs with `code` (retried by the rules), in one batch per message; returns how many
   * moved. Those that did not either left `running` meanwhile or are held by another transaction, and
   * are looked at again by the next sweep.
   */
  private async fail(running: Job[], code: string, message: (job: Job) => string, level: 'warn' | 'debug' = 'warn'): Promise<number> {
    const byMessage = new Map<string, Job[]>();
    for (const job of running) byMessage.set(message(job), [...(byMessage.get(message(job)) ?? []), job]);
    let moved = 0;
    for (const [text, jobs] of byMessage) {
      moved += await this.failures.failMany(jobs, { code, message: text, worker_id: jobs[0]!.workerId! });
    }
    if (moved < running.length) {
      this.logger[level]({ left: running.length - moved }, 'some of these jobs left running meanwhile or are being written by another transaction: the next sweep looks at them again');
    }
    return moved;
  }
}
