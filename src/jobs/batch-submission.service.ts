import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BATCH_TOO_LARGE } from '../common/domain/error-codes.js';
import { AppConfig } from '../config/app-config.js';
import {
  ConflictError,
  DependencyCycleError,
  InvalidInputError,
  UnknownDependencyError,
  ValidationFailedError,
  type FieldProblem,
} from '../common/errors/domain-error.js';
import { UUID } from '../common/domain/uuid.js';
import { toValidatedDto } from '../common/http/request-validation.js';
import { mapInSlices } from '../common/time-slices.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Metrics } from '../metrics/metrics.js';
import { retryLostRaces } from '../database/db-errors.js';
import { findCycle, topologicalOrder, type Edge } from './domain/dependency-graph.js';
import type { DependencyView } from './domain/first-state.js';
import { SubmitBatchItemDto, type SubmitBatchDto } from './dto/submit-job.dto.js';
import type { Job } from './entities/job.entity.js';
import { JobDraftFactory } from './job-draft.factory.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobRepository } from './job.repository.js';
import { JobGraphRepository } from './job-graph.repository.js';
import type { Moved } from './transition-sql.js';
import { applyFirstState, dependencyView, lockedViews } from './job-first-state.js';
import type { JobWithEdges } from './jobs.service.js';
import type { NewJob } from './new-job.js';

/** Jobs per INSERT statement of a batch. */
const INSERT_CHUNK = 500;
/** Most problems a refused batch lists (a batch of 10,000 bad items need not say so 10,000 times). */
const MAX_REPORTED_PROBLEMS = 100;

/** Shared by every item without dependencies or dependents: a batch of 10,000 allocates none of its own. */
const NONE: never[] = Object.freeze([]) as unknown as never[];

interface Item {
  index: number;
  draft: NewJob;
  /** Existing job returned for a repeated idempotency_key (nothing inserted for this item). */
  existing?: Job;
  refDeps: readonly number[];
  idDeps: readonly string[];
}

/**
 * A ref that stands for an existing job (its idempotency_key was used before) and that job's id named
 * beside it are one dependency: the id goes, so that the edge is written once and counted once.
 */
function dropIdsNamedByRef(items: Item[]): void {
  for (const item of items) {
    if (item.idDeps.length === 0 || item.refDeps.length === 0) continue;
    const byRef = new Set(item.refDeps.map((d) => items[d]!.existing?.id).filter((id): id is string => id !== undefined));
    if (byRef.size > 0) item.idDeps = item.idDeps.filter((id) => !byRef.has(id));
  }
}

/** An item's node name in the batch graph: its ref, or `#<index>` without one. */
const nodeOf = (item: Item) => item.draft.ref ?? `#${item.index}`;
/** An item's dependencies by job id, in the order given: batch refs, then existing ids. */
const dependencyIds = (item: Item, items: readonly Item[]): string[] =>
  item.refDeps.length + item.idDeps.length === 0 ? NONE : [...item.refDeps.map((d) => idOf(items[d]!)), ...item.idDeps];

/**
 * POST /jobs/batch (DESIGN §6): jobs that name each other by `ref`, checked as a graph (cycles,
 * self-dependencies, unknown refs and ids, limits) before anything is written, then inserted in
 * one transaction, in dependency order, all or nothing.
 */
@Injectable()
export class BatchSubmissionService {
  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly dag: JobGraphRepository,
    private readonly drafts: JobDraftFactory,
    private readonly lifecycle: JobLifecycleService,
    private readonly metrics: Metrics,
  ) {}

  /** `actor`: who submits (recorded in every job's job_created log row and event). */
  async submit(dto: SubmitBatchDto, actor: string | null = null): Promise<{ items: JobWithEdges[]; anyNew: boolean }> {
    // Counted before any item is looked at: a body of 100,000 empty items costs nothing to refuse.
    if (dto.jobs.length > this.config.maxBatchJobs) {
      const message = `jobs lists ${dto.jobs.length} jobs; at most ${this.config.maxBatchJobs} are allowed (MAX_BATCH_JOBS)`;
      throw new ValidationFailedError([{ field: 'jobs', message }], BATCH_TOO_LARGE);
    }
    const jobs = await this.validateItems(dto.jobs);
    const items = await this.resolve(jobs);
    for (const item of items) item.draft.actor = actor;
    const edges: Edge[] = [];
    for (const item of items) for (const d of item.refDeps) edges.push({ job: nodeOf(item), dependsOn: nodeOf(items[d]!) });
    // Without edges inside the batch there is no cycle, and the order sent is a dependency order.
    const cycle = edges.length === 0 ? null : findCycle(edges, items.map(nodeOf));
    if (cycle) throw new DependencyCycleError(cycle);

    // Sent again when it loses to another transaction (a deadlock on the dependencies' locks): each try
    // starts from the items as resolved, and reads afresh which keys name existing jobs.
    const givenIdDeps = items.map((i) => i.idDeps);
    const { inserted, published } = await retryLostRaces(() => this.jobs.transaction(async (tx) => {
      items.forEach((item, i) => (item.idDeps = givenIdDeps[i]!));
      await this.reuseExisting(items, tx);
      dropIdsNamedByRef(items);
      const external = [...new Set(items.flatMap((i) => (i.existing || i.idDeps.length === 0 ? NONE : i.idDeps)))];
      // Existing jobs reused by key are dependencies too: lock them with the rest (DAG counters).
      const reused = items.filter((i) => i.existing).map((i) => i.existing!.id);
      const locked = await this.dag.lockDependencies([...new Set([...external, ...reused])], tx);
      // A job reused by its key was read without a lock: deleted since (retention, DELETE), it is gone.
      const lockedIds = new Set(locked.map((j) => j.id));
      if (reused.some((id) => !lockedIds.has(id))) {
        throw new ConflictError('a job this batch reuses by its idempotency_key was deleted meanwhile; nothing was written, retry the batch');
      }
      const states = lockedViews(external, locked);

      const order = edges.length === 0 ? items : this.inDependencyOrder(items, edges);
      // In statements of INSERT_CHUNK jobs, in dependency order (an edge's dependency is always in an
      // earlier or the same statement): no single step holds the event loop for long.
      const fresh = order.filter((i) => !i.existing);
      const inserted = new Map<string, Job>();
      const published: Moved[] = [];
      for (let start = 0; start < fresh.length; start += INSERT_CHUNK) {
        const chunk = fresh.slice(start, start + INSERT_CHUNK);
        const edgeRows: Array<[string, string]> = [];
        for (const item of chunk) {
          // Without dependencies the draft already holds its first state (JobDraftFactory).
          if (item.refDeps.length + item.idDeps.length === 0) continue;
          this.setFirstState(item, items, states);
          for (const dep of dependencyIds(item, items)) edgeRows.push([item.draft.id, dep]);
        }
        const moved = await this.jobs.insert(chunk.map((i) => i.draft), edgeRows, tx);
        if (moved.jobs.length !== chunk.length) {
          throw new ConflictError('an idempotency_key of this batch was used by a concurrent submit; nothing was written, retry the batch');
        }
        for (const job of moved.jobs) inserted.set(job.id, job);
        published.push(moved);
      }
      return { inserted, published };
    }));
    for (const moved of published) {
      this.lifecycle.publish(moved);
      const perType = new Map<string, number>();
      for (const job of moved.jobs) perType.set(job.type, (perType.get(job.type) ?? 0) + 1);
      for (const [type, count] of perType) this.metrics.jobsSubmitted.inc({ type }, count);
      if (published.length > 1) await nextTurn();
    }

    const dependents = new Map<string, string[]>();
    for (const item of items) {
      for (const dep of dependencyIds(item, items)) {
        const list = dependents.get(dep);
        if (list) list.push(idOf(item));
        else dependents.set(dep, [idOf(item)]);
      }
    }
    const existingEdges = await this.dag.edgesOf(items.filter((i) => i.existing).map((i) => i.existing!.id));
    return {
      anyNew: inserted.size > 0,
      items: await mapInSlices(items, (item) => {
        if (item.existing) return { job: item.existing, ...existingEdges.get(item.existing.id)! };
        return {
          job: inserted.get(item.draft.id)!,
          dependsOn: dependencyIds(item, items),
          dependents: dependents.get(item.draft.id) ?? NONE,
        };
      }),
    };
  }

  /** Validates every item as POST /jobs validates a job, in slices of event-loop time; stops at MAX_REPORTED_PROBLEMS. */
  private async validateItems(raw: readonly unknown[]): Promise<SubmitBatchItemDto[]> {
    const problems: FieldProblem[] = [];
    const jobs = await mapInSlices(raw, (item, index) => {
      if (problems.length >= MAX_REPORTED_PROBLEMS) return null;
      const result = toValidatedDto(SubmitBatchItemDto, item, `jobs[${index}]`);
      if ('problems' in result) {
        problems.push(...result.problems);
        return null;
      }
      return result.dto;
    });
    if (problems.length > 0) throw new ValidationFailedError(problems.slice(0, MAX_REPORTED_PROBLEMS));
    return jobs as SubmitBatchItemDto[];
  }

  /** Drafts every job (payloads checked, in slices of event-loop time) and sorts its depends_on into batch refs and existing ids. */
  private async resolve(jobs: readonly SubmitBatchItemDto[]): Promise<Item[]> {
    const refs = new Map<string, number>();
    jobs.forEach((job, index) => {
      if (job.ref === undefined) return;
      if (UUID.test(job.ref)) throw new InvalidInputError(`jobs[${index}].ref "${job.ref}" looks like a job id; choose a ref that is not UUID-shaped`);
      if (refs.has(job.ref)) throw new InvalidInputError(`jobs[${index}].ref "${job.ref}" is already used by jobs[${refs.get(job.ref)}]`);
      refs.set(job.ref, index);
    });
    // One key stands for one job: two items with the same key would be two jobs under it, or one
    // item silently standing for the other (and its dependencies and payload lost).
    const keys = new Map<string, number>();
    jobs.forEach((job, index) => {
      if (job.idempotency_key === undefined) return;
      const first = keys.get(job.idempotency_key);
      if (first !== undefined) {
        throw new InvalidInputError(`jobs[${index}].idempotency_key "${job.idempotency_key}" is already used by jobs[${first}]: each job of a batch needs a key of its own`);
      }
      keys.set(job.idempotency_key, index);
    });
    return mapInSlices(jobs, (job, index) => {
      const at = `jobs[${index}]`;
      if (job.depends_on === undefined || job.depends_on.length === 0) {
        const draft = this.drafts.draft(job, 0, at);
        draft.ref = job.ref ?? null;
        return { index, draft, refDeps: NONE, idDeps: NONE };
      }
      const names = [...new Set(job.depends_on)];
      const refDeps: number[] = [];
      const idDeps: string[] = [];
      for (const name of names) {
        const ref = refs.get(name);
        if (ref === index) throw new DependencyCycleError([name, name]);
        if (ref !== undefined) refDeps.push(ref);
        else if (UUID.test(name)) {
          // One id in two spellings (upper and lower case) is one dependency.
          const id = name.toLowerCase();
          if (!idDeps.includes(id)) idDeps.push(id);
        }
        // Any text is a valid ref: one that matches none names an unknown job (422), as an unknown id does.
        else throw new UnknownDependencyError([name], `${at}: depends_on names "${name}", which is neither a ref of this batch nor a job id`);
      }
      const draft = this.drafts.draft(job, refDeps.length + idDeps.length, at);
      draft.ref = job.ref ?? null;
      return { index, draft, refDeps, idDeps };
    });
  }

  private inDependencyOrder(items: readonly Item[], edges: readonly Edge[]): Item[] {
    const byNode = new Map(items.map((i) => [nodeOf(i), i]));
    return topologicalOrder(items.map(nodeOf), edges).map((node) => byNode.get(node)!);
  }

  /** The first evaluated state of a new item, from its dependencies' (earlier items already have theirs) and its run_at. */
  private setFirstState(item: Item, items: readonly Item[], states: ReadonlyMap<string, DependencyView>): void {
    const deps: DependencyView[] = [
      ...item.refDeps.map((d) => (items[d]!.existing ? states.get(items[d]!.existing!.id)! : dependencyView(items[d]!.draft))),
      ...item.idDeps.map((id) => states.get(id)!),
    ];
    applyFirstState(item.draft, deps);
  }

  /** Items whose idempotency_key already exists stand for that job instead of a new one. */
  private async reuseExisting(items: Item[], tx: EntityManager): Promise<void> {
    const keys = items.map((i) => i.draft.idempotencyKey).filter((k): k is string => k !== null);
    if (keys.length === 0) return;
    await this.jobs.lockIdempotencyKeys(keys, tx);
    const existing = new Map((await this.jobs.findByIdempotencyKeys(keys, tx)).map((j) => [j.idempotencyKey!, j]));
    for (const item of items) {
      if (item.draft.idempotencyKey) item.existing = existing.get(item.draft.idempotencyKey);
    }
  }
}

const idOf = (item: Item) => item.existing?.id ?? item.draft.id;
