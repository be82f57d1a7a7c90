import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { INVALID_CURSOR, INVALID_ID } from '../common/domain/error-codes.js';
import type { Moved } from './transition-sql.js';
import { Coalescer } from '../common/coalescer.js';
import { isPermanentDbError, retryLostRaces, StaleReadError } from '../database/db-errors.js';
import { isLostRace } from '../common/http/unavailable-errors.js';
import { JobAlreadyFinishedError, JobNotFoundError, ValidationFailedError } from '../common/errors/domain-error.js';
import { UUID } from '../common/domain/uuid.js';
import { Metrics } from '../metrics/metrics.js';
import type { JobStatus } from './domain/job-state.js';
import type { ListJobsQueryDto, PageQueryDto } from './dto/list-jobs-query.dto.js';
import type { SubmitJobDto } from './dto/submit-job.dto.js';
import type { JobLog } from './entities/job-log.entity.js';
import type { Job } from './entities/job.entity.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobCancellationService } from './job-cancellation.service.js';
import { JobRepository } from './job.repository.js';
import { JobDraftFactory } from './job-draft.factory.js';
import { applyFirstState, lockedViews, waitingForDependencies } from './job-first-state.js';
import { JobGraphRepository, type DependencyState } from './job-graph.repository.js';
import { JobLogRepository } from './job-log.repository.js';
import type { NewJob } from './new-job.js';

export interface JobWithEdges {
  job: Job;
  dependsOn: string[];
  dependents: string[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const encodeCursor = (parts: string[]) => Buffer.from(parts.join('|'), 'utf8').toString('base64url');
const badCursor = () => new ValidationFailedError([{ field: 'cursor', message: 'cursor is not a cursor returned by this API' }], INVALID_CURSOR);
function decodeCursor(cursor: string, count: number): string[] {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (parts.length !== count) throw badCursor();
  return parts;
}
/** Exactly what `toISOString()` writes for a real date from 1970 on (every created_at; PostgreSQL reads it as meant). */
const ISO_INSTANT = /^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const isIsoInstant = (text: string) => ISO_INSTANT.test(text) && !Number.isNaN(Date.parse(text)) && new Date(text).toISOString() === text;
/** Most nodes GET /jobs/{id}/graph returns. */
const GRAPH_NODE_LIMIT = 20_000;
/**
 * A page of `GET /jobs` or `GET /jobs/{id}/logs` ends once its payloads and results (its lines' messages
 * and data) pass 4 MiB, with `next_cursor` set: 200 jobs of 1 MiB payloads would otherwise make one answer
 * of hundreds of MB, and a few such requests at once would take the process's heap. `limit` stays the most
 * a page holds; the first item always comes, whatever its size.
 */
export const PAGE_MAX_BYTES = 4 * 1024 * 1024;

/** Submission, reading, listing and cancelling of jobs. Owns transactions; publishes after commit. */
@Injectable()
export class JobsService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly dag: JobGraphRepository,
    private readonly jobLogs: JobLogRepository,
    private readonly drafts: JobDraftFactory,
    private readonly lifecycle: JobLifecycleService,
    private readonly cancellations: JobCancellationService,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Submits of jobs without dependencies made close together share one INSERT (group commit). If the
   * database refuses a shared INSERT for its data, or it loses a deadlock, each submit is inserted alone:
   * one bad submit must not fail the others.
   */
  private readonly inserts = new Coalescer<NewJob, Job | null>(
    async (drafts) => {
      const moved = await this.jobs.insert(drafts, []);
      this.lifecycle.publish(moved);
      const byId = new Map(moved.jobs.map((j) => [j.id, j]));
      return drafts.map((d) => byId.get(d.id) ?? null); // null: an earlier job has the idempotency_key
    },
    500,
    // Alone also after a lost deadlock or serialization race: the shared INSERT was rolled back whole,
    // and one submit's key crossing another writer's must not fail the other submits of the group.
    (error) => isPermanentDbError(error) || isLostRace(error),
  );

  /** Submits one job. `isNew` is false when an earlier job with the same idempotency_key is returned. `actor`: who submits. */
  async submit(dto: SubmitJobDto, actor: string | null = null): Promise<{ job: JobWithEdges; isNew: boolean }> {
    const dependsOn = [...new Set((dto.depends_on ?? []).map((id) => id.toLowerCase()))];
    const draft = this.drafts.draft(dto, dependsOn.length);
    draft.actor = actor;

    if (draft.idempotencyKey) {
      const [existing] = await this.jobs.findByIdempotencyKeys([draft.idempotencyKey]);
      if (existing) return { job: await this.withEdges(existing), isNew: false };
    }

    let job: Job | null = null;
    for (let tries = 1; !job; tries++) {
      job = await this.insertOne(draft, dependsOn);
      if (job) break;
      // Lost a race with a concurrent submit of the same idempotency_key: return the winner. One deleted
      // meanwhile (a finished job, by DELETE or retention) leaves the key free: insert again.
      const [existing] = await this.jobs.findByIdempotencyKeys([draft.idempotencyKey!]);
      if (existing) return { job: await this.withEdges(existing), isNew: false };
      if (tries === 3) throw new StaleReadError(`the job holding idempotency_key ${draft.idempotencyKey} was deleted as this submit was stored, three times`);
    }
    this.metrics.jobsSubmitted.inc({ type: job.type });
    return { job: { job, dependsOn, dependents: [] }, isNew: true };
  }

  /**
   * Inserts `draft` (with its edges to `dependsOn`, whose rows it locks); null when its idempotency key
   * is taken. A deadlock with a concurrent transition on a dependency (a completion's group commit locks
   * in its own order) rolled the transaction back whole: it runs again, rather than answering 409.
   */
  private async insertOne(draft: NewJob, dependsOn: string[]): Promise<Job | null> {
    if (dependsOn.length === 0) return this.inserts.push(draft);
    const moved = await retryLostRaces(() =>
      this.jobs.transaction(async (tx) => {
        const deps = await this.dag.lockDependencies(dependsOn, tx);
        this.evaluateDependencies(draft, dependsOn, deps);
        return this.jobs.insert([draft], dependsOn.map((d) => [draft.id, d] as [string, string]), tx);
      }),
    );
    this.lifecycle.publish(moved);
    return moved.jobs[0] ?? null;
  }

  /**
   * Inserts a schedule's job for one tick (DESIGN §11) inside the caller's transaction, which also
   * moves the schedule's counters. Nothing is inserted when the tick already has its job (the unique
   * (schedule_id, scheduled_for)). Publish with JobLifecycleService.publish after the commit.
   */
  async insertScheduled(drafts: readonly NewJob[], tx: EntityManager): Promise<Moved> {
    if (drafts.some((d) => !d.scheduleId || !d.scheduledFor)) throw new Error('a scheduled job needs schedule_id and scheduled_for');
    return this.jobs.insert(drafts, [], tx);
  }

  /** The statuses of jobs (in the caller's transaction); a job that no longer exists is absent. */
  async statusesOf(ids: readonly string[], tx?: EntityManager): Promise<Map<string, JobStatus>> {
    return this.jobs.statusesOf(ids, tx);
  }

  /** Throws JobNotFoundError unless the job exists (its row alone: not its edges). */
  private async mustExist(id: string): Promise<void> {
    if (!(await this.jobs.findById(this.checkId(id)))) throw new JobNotFoundError(id);
  }

  async get(id: string): Promise<JobWithEdges> {
    const job = await this.jobs.findById(this.checkId(id));
    if (!job) throw new JobNotFoundError(id);
    return this.withEdges(job);
  }

  async list(query: ListJobsQueryDto): Promise<Page<JobWithEdges>> {
    const limit = query.limit ?? 50;
    let after: { createdAt: string; id: string } | undefined;
    if (query.cursor) {
      const [createdAt, id] = decodeCursor(query.cursor, 2);
      if (!createdAt || !isIsoInstant(createdAt) || !id || !UUID.test(id)) throw badCursor();
      after = { createdAt, id };
    }
    const rows = await this.jobs.list({
      statuses: query.status,
      types: query.type,
      priorities: query.priority,
      concurrencyKeys: query.concurrency_key,
      scheduleIds: query.schedule_id?.map((id) => id.toLowerCase()),
      limit,
      maxBytes: PAGE_MAX_BYTES,
      after,
    });
    const page = rows.jobs.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.fetched > page.length && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null;
    const edges = await this.dag.edgesOf(page.map((j) => j.id));
    await this.refreshWaitingForDependencies(page);
    return {
      items: page.map((job) => ({ job, ...(edges.get(job.id) ?? { dependsOn: [], dependents: [] }) })),
      nextCursor,
    };
  }

  async logs(id: string, query: PageQueryDto): Promise<Page<JobLog>> {
    await this.mustExist(id);
    const limit = query.limit ?? 100;
    let afterId: string | undefined;
    if (query.cursor) {
      [afterId] = decodeCursor(query.cursor, 1);
      if (!afterId || !/^\d{1,18}$/.test(afterId)) throw badCursor();
    }
    const { logs, fetched } = await this.jobLogs.logs(id, afterId, limit, PAGE_MAX_BYTES);
    // Every job has its job_created row: none on the first page means the job was deleted (DELETE,
    // retention) between the check above and the read, and it is answered as the unknown job it now is.
    if (logs.length === 0 && afterId === undefined) await this.mustExist(id);
    const items = logs.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: fetched > items.length && last ? encodeCursor([last.id]) : null };
  }

  /**
   * Cancels a job that has not finished, and everything downstream of it (DESIGN §3, §6).
   * A running job is marked cancelled at once; its worker aborts the handler's signal.
   */
  async cancel(id: string, actor: string): Promise<JobWithEdges> {
    const current = await this.jobs.findById(this.checkId(id));
    if (!current) throw new JobNotFoundError(id);
    const cancelled = await this.cancellations.cancelByUser(current.id, actor);
    if (!cancelled) {
      // Nothing moved: it finished meanwhile, or was deleted (DELETE, retention) once finished.
      const now = await this.jobs.findById(current.id);
      if (!now) throw new JobNotFoundError(current.id);
      throw new JobAlreadyFinishedError(current.id, now.status);
    }
    return this.withEdges(cancelled);
  }

  // ---------------------------------------------------------------------------------------------

  private checkId(id: string): string {
    if (!UUID.test(id)) throw new ValidationFailedError([{ field: 'id', message: `id must be a UUID, got "${id.slice(0, 100)}"` }], INVALID_ID);
    return id.toLowerCase();
  }

  /** Sets the first evaluated state of a job from its dependencies' states and its run_at (DESIGN §3, §10). */
  private evaluateDependencies(draft: NewJob, dependsOn: string[], deps: DependencyState[]): void {
    const views = lockedViews(dependsOn, deps);
    applyFirstState(draft, dependsOn.map((id) => views.get(id)!));
  }

  private async withEdges(job: Job): Promise<JobWithEdges> {
    const edges = (await this.dag.edgesOf([job.id])).get(job.id)!;
    await this.refreshWaitingForDependencies([job]);
    return { job, ...edges };
  }

  /** A blocked job's reason lists its unfinished dependencies as they are now, not as they were at submit. */
  private async refreshWaitingForDependencies(jobs: Job[]): Promise<void> {
    const blocked = jobs.filter((j) => j.status === 'blocked');
    if (blocked.length === 0) return;
    const live = await this.dag.unfinishedDependencies(blocked.map((j) => j.id));
    for (const job of blocked) {
      const deps = live.get(job.id);
      if (deps) job.waitingReason = waitingForDependencies(deps.unfinished, deps.total);
    }
  }

  /** The job's whole connected dependency graph (GET /jobs/{id}/graph). */
  async graph(id: string): Promise<{ nodes: Array<{ id: string; ref: string | null; type: string; status: JobStatus }>; edges: Array<{ job_id: string; depends_on_id: string }>; truncated: boolean }> {
    const job = await this.jobs.findById(this.checkId(id));
    if (!job) throw new JobNotFoundError(id);
    return this.dag.graph(job.id, GRAPH_NODE_LIMIT);
  }
}
