import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { Coalescer } from '../common/coalescer.js';
import { AppConfig } from '../config/app-config.js';
import {
  InvalidInputError,
  JobAlreadyFinishedError,
  JobNotFoundError,
  UnknownDependencyError,
} from '../common/errors/domain-error.js';
import { Metrics } from '../health/metrics.js';
import { isFailedForGood, type JobStatus } from './domain/job-state.js';
import type { ListJobsQueryDto, PageQueryDto } from './dto/list-jobs-query.dto.js';
import type { SubmitJobDto } from './dto/submit-job.dto.js';
import type { JobLog } from './entities/job-log.entity.js';
import type { Job } from './entities/job.entity.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobRepository, type DependencyState, type NewJob } from './job.repository.js';
import { JobTypeCatalog } from './job-type-catalog.js';

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
function decodeCursor(cursor: string, count: number): string[] {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (parts.length !== count) throw new InvalidInputError('cursor is not a cursor returned by this API');
  return parts;
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Submission, reading, listing and cancelling of jobs. Owns transactions; publishes after commit. */
@Injectable()
export class JobsService {
  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly catalog: JobTypeCatalog,
    private readonly lifecycle: JobLifecycleService,
    private readonly metrics: Metrics,
  ) {}

  /** Submits of jobs without dependencies made close together share one INSERT (group commit). */
  private readonly inserts = new Coalescer<NewJob, Job | null>(async (drafts) => {
    const moved = await this.jobs.insert(drafts, []);
    await this.lifecycle.publish(moved);
    const byId = new Map(moved.jobs.map((j) => [j.id, j]));
    return drafts.map((d) => byId.get(d.id) ?? null); // null: an earlier job has the idempotency_key
  });

  /** Submits one job. `isNew` is false when an earlier job with the same idempotency_key is returned. */
  async submit(dto: SubmitJobDto): Promise<{ job: JobWithEdges; isNew: boolean }> {
    const dependsOn = [...new Set((dto.depends_on ?? []).map((id) => id.toLowerCase()))];
    const draft = this.draft(dto, dependsOn.length);

    if (draft.idempotencyKey) {
      const [existing] = await this.jobs.findByIdempotencyKeys([draft.idempotencyKey]);
      if (existing) return { job: await this.withEdges(existing), isNew: false };
    }

    let job: Job | null;
    if (dependsOn.length === 0) {
      job = await this.inserts.push(draft);
    } else {
      const moved = await this.jobs.transaction(async (tx) => {
        const deps = await this.jobs.lockDependencies(dependsOn, tx);
        this.evaluateDependencies(draft, dependsOn, deps);
        return this.jobs.insert([draft], dependsOn.map((d) => [draft.id, d] as [string, string]), tx);
      });
      await this.lifecycle.publish(moved);
      job = moved.jobs[0] ?? null;
    }
    if (!job) {
      // Lost a race with a concurrent submit of the same idempotency_key: return the winner.
      const [existing] = await this.jobs.findByIdempotencyKeys([draft.idempotencyKey!]);
      if (!existing) throw new Error(`idempotency_key conflict without a row: ${draft.idempotencyKey}`);
      return { job: await this.withEdges(existing), isNew: false };
    }
    this.metrics.jobsSubmitted.inc({ type: job.type });
    return { job: { job, dependsOn, dependents: [] }, isNew: true };
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
      if (!createdAt || Number.isNaN(Date.parse(createdAt)) || !id || !UUID.test(id)) {
        throw new InvalidInputError('cursor is not a cursor returned by this API');
      }
      after = { createdAt, id };
    }
    const rows = await this.jobs.list({
      statuses: query.status,
      types: query.type,
      priorities: query.priority,
      limit,
      after,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null;
    const edges = await this.jobs.edgesOf(page.map((j) => j.id));
    return {
      items: page.map((job) => ({ job, ...(edges.get(job.id) ?? { dependsOn: [], dependents: [] }) })),
      nextCursor,
    };
  }

  async logs(id: string, query: PageQueryDto): Promise<Page<JobLog>> {
    await this.get(id);
    const limit = query.limit ?? 100;
    let afterId: string | undefined;
    if (query.cursor) {
      [afterId] = decodeCursor(query.cursor, 1);
      if (!afterId || !/^\d{1,18}$/.test(afterId)) throw new InvalidInputError('cursor is not a cursor returned by this API');
    }
    const rows = await this.jobs.logs(id, afterId, limit);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
  }

  /**
   * Cancels a job that has not finished, and everything downstream of it (DESIGN §3, §6).
   * A running job is marked cancelled at once; its worker aborts the handler's signal.
   */
  async cancel(id: string): Promise<JobWithEdges> {
    const current = await this.jobs.findById(this.checkId(id));
    if (!current) throw new JobNotFoundError(id);
    const cancelled = await this.lifecycle.cancelByUser(current.id);
    if (!cancelled) {
      const now = await this.jobs.findById(current.id);
      throw new JobAlreadyFinishedError(current.id, now?.status ?? current.status);
    }
    return this.withEdges(cancelled);
  }

  // ---------------------------------------------------------------------------------------------

  private checkId(id: string): string {
    if (!UUID.test(id)) throw new InvalidInputError(`id must be a UUID, got "${id.slice(0, 100)}"`);
    return id.toLowerCase();
  }

  /** Validates what the DTO's decorators cannot (type, payload, limits) and applies every default. */
  private draft(dto: SubmitJobDto, dependencyCount: number): NewJob {
    const payload = dto.payload ?? {};
    this.catalog.validatePayload(dto.type, payload);
    const cpuUnits = dto.resource_requirements?.cpu_units ?? 1;
    const memoryMb = dto.resource_requirements?.memory_mb ?? 128;
    const over: string[] = [];
    if (cpuUnits > this.config.maxCpuUnits) {
      over.push(`resource_requirements.cpu_units ${cpuUnits} exceeds MAX_CPU_UNITS ${this.config.maxCpuUnits}`);
    }
    if (memoryMb > this.config.maxMemoryMb) {
      over.push(`resource_requirements.memory_mb ${memoryMb} exceeds MAX_MEMORY_MB ${this.config.maxMemoryMb}`);
    }
    if (over.length > 0) {
      throw new InvalidInputError(`the job can never run: ${over.join('; ')} (no worker can be that large)`, { messages: over });
    }
    if (dependencyCount > this.config.maxDependenciesPerJob) {
      throw new InvalidInputError(
        `depends_on lists ${dependencyCount} jobs; at most ${this.config.maxDependenciesPerJob} are allowed (MAX_DEPENDENCIES_PER_JOB)`,
      );
    }
    const retry = this.config.retry;
    const initialDelayMs = dto.retry_config?.initial_delay_ms ?? retry.initialDelayMs;
    const maxDelayMs = dto.retry_config?.max_delay_ms ?? Math.max(retry.maxDelayMs, initialDelayMs);
    if (maxDelayMs < initialDelayMs) {
      throw new InvalidInputError(`retry_config.max_delay_ms (${maxDelayMs}) must be at least initial_delay_ms (${initialDelayMs})`);
    }
    return {
      id: uuidv7(),
      type: dto.type,
      priority: dto.priority ?? 'normal',
      status: 'ready',
      payload,
      cpuUnits,
      memoryMb,
      maxAttempts: dto.retry_config?.max_attempts ?? retry.maxAttempts,
      backoffMultiplier: dto.retry_config?.backoff_multiplier ?? retry.backoffMultiplier,
      initialDelayMs,
      maxDelayMs,
      timeoutSeconds: dto.timeout_seconds ?? this.config.defaultJobTimeoutSeconds,
      idempotencyKey: dto.idempotency_key ?? null,
      ref: null,
      pendingDependencies: 0,
      error: null,
      waitingReason: null,
      completedAt: null,
    };
  }

  /** Sets the first evaluated state of a job from its dependencies' states (DESIGN §3). */
  private evaluateDependencies(draft: NewJob, dependsOn: string[], deps: DependencyState[]): void {
    const known = new Map(deps.map((d) => [d.id, d]));
    const unknown = dependsOn.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new UnknownDependencyError(unknown);
    const failed = dependsOn.map((id) => known.get(id)!).find((d) => isFailedForGood(d.status));
    if (failed) {
      const rootId = typeof failed.error?.root_id === 'string' ? failed.error.root_id : failed.id;
      draft.status = 'cancelled';
      draft.completedAt = new Date();
      draft.error = {
        code: 'DEPENDENCY_FAILED',
        message: `dependency ${failed.id} ended ${failed.status}; this job can never run`,
        dependency_id: failed.id,
        root_id: rootId,
      };
      return;
    }
    const unfinished = dependsOn.filter((id) => known.get(id)!.status !== 'completed');
    draft.pendingDependencies = unfinished.length;
    if (unfinished.length > 0) {
      draft.status = 'blocked';
      draft.waitingReason = waitingForDependencies(unfinished, dependsOn.length);
    }
  }

  private async withEdges(job: Job): Promise<JobWithEdges> {
    const edges = (await this.jobs.edgesOf([job.id])).get(job.id)!;
    return { job, ...edges };
  }
}

/** DESIGN §2 WAITING_FOR_DEPENDENCIES, listing (up to 100 of) the unfinished dependencies. */
export function waitingForDependencies(unfinished: string[], total: number): Job['waitingReason'] {
  return {
    code: 'WAITING_FOR_DEPENDENCIES',
    message: `waiting for ${unfinished.length} of ${total} dependencies to complete`,
    pending_count: unfinished.length,
    pending_ids: unfinished.slice(0, 100),
  };
}

export type { JobStatus };
