import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { JOB_NOT_RETRYABLE } from '../common/domain/error-codes.js';
import { JobNotFoundError } from '../common/errors/domain-error.js';
import { retryLostRaces, StaleReadError } from '../database/db-errors.js';
import { DependencyNotCompletedError, JobNotRetryableError, JobStillStoppingError } from '../common/errors/rerun-errors.js';
import type { JobStatus } from './domain/job-state.js';
import { planRerun, type RerunNode, type RerunPlan, type RerunStep } from './domain/rerun-plan.js';
import { scheduledReason } from './domain/run-at.js';
import type { Job } from './entities/job.entity.js';
import { afterStopping } from './after-stopping.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobRerunRepository, type RerunRow } from './job-rerun.repository.js';
import { JobRepository } from './job.repository.js';
import { waitingForDependencies } from './job-first-state.js';
import type { Moved } from './transition-sql.js';
import { databaseTime } from '../common/database-time.js';

/** The 409 a refused plan answers. */
const refusal = (id: string, plan: Exclude<RerunPlan, { ok: true }>) =>
  plan.code === JOB_NOT_RETRYABLE ? new JobNotRetryableError(id, plan.status) : new DependencyNotCompletedError(id, plan.dependencyId, plan.dependencyStatus);

/** How often a retry that lost a deadlock to a concurrent transition is tried again. */
const DEADLOCK_TRIES = 3;

export type RetryOutcome =
  | { ok: true; job: Job; movedIds: string[] }
  | { ok: false; error: JobNotRetryableError | DependencyNotCompletedError | JobStillStoppingError | JobNotFoundError };

/**
 * Manual retries (DESIGN §13): a job that ended failed, timeout or cancelled runs again with a new
 * run budget (waiting `pending` again while its run_at is ahead), and the jobs its end cancelled downstream come back to `blocked`, so a DAG resumes
 * where it failed. One transaction per retried job; events published after the commit.
 */
@Injectable()
export class JobRerunService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly reruns: JobRerunRepository,
    private readonly lifecycle: JobLifecycleService,
  ) {}

  /** Retries one job (waiting out a handler still stopping: afterStopping); throws the refusal (404 or 409) as a domain error. */
  async retry(id: string, actor: string): Promise<Job> {
    const outcome = await afterStopping(
      () => this.tryRetry(id, actor),
      (o) => !o.ok && o.error instanceof JobStillStoppingError,
    );
    if (!outcome.ok) throw outcome.error;
    return outcome.job;
  }

  /** Retries one job, returning the refusal instead of throwing it (bulk retries list them). */
  async tryRetry(id: string, actor: string | null): Promise<RetryOutcome> {
    const result = await retryLostRaces(() => this.jobs.transaction((tx) => this.retryIn(id, actor, tx)), DEADLOCK_TRIES);
    if (!result.ok) return result;
    this.lifecycle.publish(result.moved);
    const job = result.moved.jobs.find((j) => j.id === id)!;
    return { ok: true, job, movedIds: result.moved.jobs.map((j) => j.id) };
  }

  /**
   * Retries many jobs in one transaction, those without edges (no dependency, no dependent: nothing
   * upstream to check, nothing downstream to bring back), which is what a bulk retry of failed work
   * mostly is. Returns their outcomes; the jobs with edges are left in `oneByOne`, for tryRetry one
   * at a time.
   */
  async tryRetryMany(ids: readonly string[], actor: string | null): Promise<{ outcomes: Map<string, RetryOutcome>; oneByOne: string[] }> {
    if (ids.length === 0) return { outcomes: new Map(), oneByOne: [] };
    const result = await retryLostRaces(
      () =>
        this.jobs.transaction(async (tx) => {
          const locked = await this.reruns.lockForUpdate(ids, tx);
          const linked = await this.reruns.withEdges(ids, tx);
          const refused = new Map<string, RetryOutcome>();
          const rows: RerunRow[] = [];
          for (const job of locked) {
            if (linked.has(job.id)) continue;
            const plan = planRerun({ id: job.id, status: job.status, dependencies: [], runAt: job.run_at }, [], databaseTime.date());
            if (!plan.ok) refused.set(job.id, { ok: false, error: refusal(job.id, plan) });
            else if (job.allocated) refused.set(job.id, { ok: false, error: new JobStillStoppingError(job.id) });
            else rows.push(...plan.steps.map((step) => this.row(step, job.id, actor, job.run_at)));
          }
          return { moved: await this.reruns.moveBack(rows, actor, tx), refused, linked, found: new Set(locked.map((j) => j.id)) };
        }),
      DEADLOCK_TRIES,
    );
    this.lifecycle.publish(result.moved);
    const outcomes = new Map(result.refused);
    for (const job of result.moved.jobs) outcomes.set(job.id, { ok: true, job, movedIds: [job.id] });
    for (const id of ids) if (!result.found.has(id)) outcomes.set(id, { ok: false, error: new JobNotFoundError(id) });
    return { outcomes, oneByOne: ids.filter((id) => !outcomes.has(id)) };
  }

  private async retryIn(
    id: string,
    actor: string | null,
    tx: EntityManager,
  ): Promise<{ ok: true; moved: Moved } | { ok: false; error: JobNotRetryableError | DependencyNotCompletedError | JobStillStoppingError | JobNotFoundError }> {
    const downstream = await this.reruns.cancelledDownstream(id, tx);
    const family = [id, ...downstream];
    const edges = await this.reruns.dependenciesOf(family, tx);
    const inFamily = new Set(family);
    const outside = [...new Set(edges.map((e) => e.depends_on_id).filter((d) => !inFamily.has(d)))];
    // Every row involved in one statement, in id order, for update: the family (the jobs that move) and
    // the dependencies outside it (none of them may complete or fail between the plan and the move).
    // Retries of siblings share those rows (a fan-in's parents are each other's outside dependencies):
    // taken in two steps, the outside ones shared and then the family, two such retries each held what
    // the other waited for, and deadlocked. One order for all of them makes the second wait for the first.
    const all = await this.reruns.lockForUpdate([...outside, ...family], tx);
    const upstream = all.filter((j) => !inFamily.has(j.id));
    const locked = all.filter((j) => inFamily.has(j.id));
    // A job submitted with a dependency in the family while these locks were awaited was stored
    // cancelled (its dependency had failed) after the walk above; a job of the walk may have come back
    // meanwhile and been cancelled again, by hand (it must then stay cancelled). Read again, under the
    // locks (which keep new dependents out), and start over when the walk changed at all.
    if (locked.length > 0) {
      const again = await this.reruns.cancelledDownstream(id, tx);
      if (again.length !== downstream.length || again.some((d) => !inFamily.has(d))) {
        throw new StaleReadError(`retry of ${id}: the jobs cancelled downstream changed while its locks were awaited`);
      }
    }
    const status = new Map<string, JobStatus>([...upstream, ...locked].map((j) => [j.id, j.status]));
    const runAt = new Map(locked.map((j) => [j.id, j.run_at]));
    const target = locked.find((j) => j.id === id);
    if (!target) return { ok: false, error: new JobNotFoundError(id) };

    const dependencies = new Map<string, string[]>();
    for (const e of edges) dependencies.set(e.job_id, [...(dependencies.get(e.job_id) ?? []), e.depends_on_id]);
    // A dependency missing here was deleted: only a job that no job but completed ones depends on is (DELETE, retention).
    const node = (jobId: string): RerunNode => ({
      id: jobId,
      status: status.get(jobId)!,
      dependencies: (dependencies.get(jobId) ?? []).filter((d) => status.has(d)).map((d) => ({ id: d, status: status.get(d)! })),
      runAt: runAt.get(jobId) ?? null,
    });
    const plan: RerunPlan = planRerun(
      node(id),
      downstream.filter((d) => status.has(d)).map(node),
      databaseTime.date(),
    );
    if (!plan.ok) return { ok: false, error: refusal(id, plan) };
    if (target.allocated) return { ok: false, error: new JobStillStoppingError(id) };

    const rows = plan.steps.map((step) => this.row(step, id, actor, runAt.get(step.id) ?? null, node(step.id).dependencies.length));
    // The jobs are locked and were checked under the lock: the guarded move takes every one of them.
    const moved = await this.reruns.moveBack(rows, actor, tx);
    if (!moved.jobs.some((j) => j.id === id)) throw new Error(`retry of ${id}: the locked job did not move`);
    return { ok: true, moved };
  }

  /** A planned step as the move writes it: its waiting reason and its log line. */
  private row(step: RerunStep, retriedId: string, actor: string | null, runAt: Date | null, dependencies = 0): RerunRow {
    const who = actor ? ` by ${actor}` : '';
    return {
      ...step,
      waitingReason: step.status === 'blocked' ? waitingForDependencies(step.unfinished, dependencies) : step.status === 'pending' ? scheduledReason(runAt!) : null,
      message: step.id === retriedId ? `job retried${who}: job is ${step.status}` : `dependency ${retriedId} retried${who}: job is ${step.status} again`,
    };
  }
}
