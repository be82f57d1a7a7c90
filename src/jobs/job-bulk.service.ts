import { Injectable } from '@nestjs/common';
import { CONFLICT, DEPENDENCY_NOT_COMPLETED, INVALID_BULK_REQUEST, JOB_ALREADY_FINISHED, JOB_NOT_FOUND } from '../common/domain/error-codes.js';
import { ValidationFailedError } from '../common/errors/domain-error.js';
import { retryLostRaces } from '../database/db-errors.js';
import { CANCELLED_BY_USER } from './domain/error-codes.js';
import { isRetryable, sourcesOf, type JobStatus } from './domain/job-state.js';
import { parseZonedInstant } from './domain/run-at.js';
import type { BulkActionDto } from './dto/bulk-action.dto.js';
import type { JobErrorInfo } from './entities/job.entity.js';
import { JobBulkRepository, type BulkFilter } from './job-bulk.repository.js';
import { lostRace, Tally, type BulkResult } from './job-bulk-tally.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobRerunService, type RetryOutcome } from './job-rerun.service.js';
import { afterStopping } from './after-stopping.js';
import { JobStillStoppingError } from '../common/errors/rerun-errors.js';
import { JobRepository } from './job.repository.js';
import { JobCancellationRepository } from './job-cancellation.repository.js';
import { mergeMoved, type Moved } from './transition-sql.js';

/** Jobs per transaction of a bulk action: short locks, so pickup goes on between the chunks. */
export const BULK_CHUNK = 500;
const CANCELLABLE = sourcesOf('cancelled');

type Matched = { id: string; status: JobStatus | null };

/**
 * POST /jobs/bulk/cancel and /jobs/bulk/retry (DESIGN §13): by ids (≤ 10,000) or by a filter (any
 * number), in chunks of BULK_CHUNK jobs, each its own short transaction, with the event loop and the
 * pool free between chunks. `matched` = `changed` + skipped.
 *
 * A transaction that loses its race to concurrent transitions as many times as it is run (a deadlock
 * with the scheduler's moves of the same jobs) changed nothing: its jobs are skipped as CONFLICT and
 * the action goes on with the next ones. It does not end the request with an error: the chunks before
 * had committed, and an error answer ("not carried out") would hide the jobs they changed, while
 * DESIGN §13's answer accounts for every job matched, changed or skipped with why; `conflicts` counts
 * those to send again.
 */
@Injectable()
export class JobBulkService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly bulk: JobBulkRepository,
    private readonly cancels: JobCancellationRepository,
    private readonly lifecycle: JobLifecycleService,
    private readonly reruns: JobRerunService,
  ) {}

  async cancel(dto: BulkActionDto, actor: string): Promise<BulkResult> {
    const tally = new Tally();
    const error: JobErrorInfo = { code: CANCELLED_BY_USER, message: `cancelled by ${actor} through POST /jobs/bulk/cancel`, actor };
    // A filter's statuses hold at the cancel too: a pending job matched that started meanwhile is not
    // what was asked for, and is left running.
    const statuses = dto.filter?.status?.length ? dto.filter.status : null;
    for await (const chunk of this.chunks(dto, (status) => CANCELLABLE.includes(status))) {
      const candidates: string[] = [];
      for (const job of this.account(chunk, tally)) {
        if (CANCELLABLE.includes(job.status)) candidates.push(job.id);
        else tally.skip(job.id, JOB_ALREADY_FINISHED, `job is already ${job.status}`);
      }
      if (candidates.length === 0) continue;
      // A chunk may deadlock with the scheduler's own transitions of the same jobs: PostgreSQL rolls it
      // back whole, and it runs again.
      let moved: Moved;
      try {
        moved = await retryLostRaces(() => this.jobs.transaction(async (tx) => {
          const cancelled = await this.bulk.cancelMany(candidates, error, `job cancelled by ${actor} (bulk)`, actor, tx, statuses);
          const cascades: Moved[] = [];
          for (const root of await this.bulk.withDependents(cancelled.jobs.map((j) => j.id), tx)) {
            cascades.push(await this.cancels.cancelDownstream(root, 'cancelled', tx, actor));
          }
          return mergeMoved(cancelled, ...cascades);
        }));
      } catch (thrown) {
        if (!lostRace(thrown)) throw thrown;
        for (const id of candidates) tally.conflict(id);
        continue;
      }
      this.lifecycle.publish(moved);
      for (const job of moved.jobs) tally.touched.add(job.id);
      const lost = candidates.filter((id) => !tally.touched.has(id));
      const now = await this.bulk.statusesOf(lost);
      tally.changed += candidates.length - lost.length;
      for (const id of lost) {
        const status = now.get(id);
        if (status && CANCELLABLE.includes(status)) tally.skip(id, CONFLICT, `job is now ${status}: it no longer matches the filter's status, and was left as it is`);
        else tally.skip(id, JOB_ALREADY_FINISHED, `job is already ${status ?? 'deleted'}`);
      }
    }
    return tally.result();
  }

  async retry(dto: BulkActionDto, actor: string): Promise<BulkResult> {
    const tally = new Tally();
    // Jobs refused because their handler, cancelled while running, has not stopped yet: tried again once
    // every job matched was, for up to STOPPING_WAIT_MS in all (as a single retry waits), so that a
    // bulk cancel followed by a bulk retry brings back the jobs that were running too.
    const stopping = new Map<string, RetryOutcome>();
    const record = (id: string, outcome: RetryOutcome) => {
      if (outcome.ok) {
        tally.changed++;
        for (const moved of outcome.movedIds) tally.touched.add(moved);
      } else {
        tally.skip(id, outcome.error.code, outcome.error.message);
      }
    };
    /** The first pass's outcomes: those refused for a handler still stopping are settled after it (retryStopping). */
    const recordFirst = (id: string, outcome: RetryOutcome) =>
      !outcome.ok && outcome.error instanceof JobStillStoppingError ? void stopping.set(id, outcome) : record(id, outcome);
    // Jobs refused because a dependency of theirs has not completed: that dependency may be matched later
    // by this same request (a batch lists a dependent before its dependency, and both get one created_at),
    // and its retry then brings them back. They are settled once every job matched was tried.
    const waitingForUpstream = new Map<string, RetryOutcome>();
    for await (const chunk of this.chunks(dto, isRetryable)) {
      // Jobs without edges all at once; the others one at a time, in order: a retry may bring back jobs
      // matched later in the chunk (they count as changed).
      const untouched = new Set(chunk.filter((m) => !tally.touched.has(m.id) && m.status !== null).map((m) => m.id));
      // When the retry of them all together keeps losing its race, each is tried alone: one contended
      // job then costs only its own retry.
      const { outcomes, oneByOne } = await this.reruns.tryRetryMany([...untouched], actor).catch((thrown: unknown) => {
        if (!lostRace(thrown)) throw thrown;
        return { outcomes: new Map<string, RetryOutcome>(), oneByOne: [...untouched] };
      });
      const later = new Set(oneByOne);
      for (const matched of chunk) {
        const [job] = this.account([matched], tally);
        if (!job) continue;
        if (!later.has(job.id)) {
          recordFirst(job.id, outcomes.get(job.id)!);
          continue;
        }
        try {
          const outcome = await this.reruns.tryRetry(job.id, actor);
          if (!outcome.ok && outcome.error.code === DEPENDENCY_NOT_COMPLETED) waitingForUpstream.set(job.id, outcome);
          else recordFirst(job.id, outcome);
        } catch (thrown) {
          if (!lostRace(thrown)) throw thrown;
          tally.conflict(job.id);
        }
      }
    }
    await this.retryStopping(stopping, tally, record, actor);
    await this.retryWaiting(waitingForUpstream, tally, record, actor);
    for (const [id, refused] of waitingForUpstream) {
      if (tally.touched.has(id)) tally.changed++;
      else record(id, refused);
    }
    return tally.result();
  }

  /** Tries the jobs refused for a handler still stopping again, until none is left or STOPPING_WAIT_MS passed; each counts by its last outcome. */
  private async retryStopping(stopping: Map<string, RetryOutcome>, tally: Tally, record: (id: string, outcome: RetryOutcome) => void, actor: string): Promise<void> {
    if (stopping.size === 0) return;
    const left = new Set(stopping.keys());
    const conflicted = new Set<string>();
    await afterStopping(
      async () => {
        for (const id of left) {
          if (tally.touched.has(id)) {
            left.delete(id);
            continue;
          }
          try {
            const outcome = await this.reruns.tryRetry(id, actor);
            stopping.set(id, outcome);
            if (outcome.ok || !(outcome.error instanceof JobStillStoppingError)) left.delete(id);
          } catch (thrown) {
            if (!lostRace(thrown)) throw thrown;
            left.delete(id);
            conflicted.add(id);
            tally.conflict(id);
          }
        }
        return left.size;
      },
      (size) => size > 0,
    );
    for (const [id, outcome] of stopping) {
      if (conflicted.has(id)) continue;
      // Brought back meanwhile by the retry of a job upstream: changed, as a job matched after it would be.
      if (!outcome.ok && tally.touched.has(id)) tally.changed++;
      else record(id, outcome);
    }
  }

  /**
   * Tries again the jobs refused for a dependency not completed that no retry of this request brought back:
   * the dependency may have been retried since (a job it had cancelled by hand, not as DEPENDENCY_FAILED,
   * is not brought back with it). Passes over them while one gets through; what stays refused is left in
   * `waiting`.
   */
  private async retryWaiting(waiting: Map<string, RetryOutcome>, tally: Tally, record: (id: string, outcome: RetryOutcome) => void, actor: string): Promise<void> {
    for (let progress = true; progress; ) {
      progress = false;
      for (const [id] of waiting) {
        if (tally.touched.has(id)) continue;
        try {
          const outcome = await this.reruns.tryRetry(id, actor);
          if (!outcome.ok && outcome.error.code === DEPENDENCY_NOT_COMPLETED) {
            waiting.set(id, outcome);
            continue;
          }
          waiting.delete(id);
          record(id, outcome);
          progress ||= outcome.ok;
        } catch (thrown) {
          if (!lostRace(thrown)) throw thrown;
          waiting.delete(id);
          tally.conflict(id);
        }
      }
    }
  }

  /**
   * Counts jobs as matched; those this action already moved count as changed, unknown ids as
   * skipped. Returns the rest, to act on.
   */
  private account(chunk: Matched[], tally: Tally): Array<{ id: string; status: JobStatus }> {
    const rest: Array<{ id: string; status: JobStatus }> = [];
    for (const job of chunk) {
      tally.matched++;
      if (tally.touched.has(job.id)) tally.changed++;
      else if (job.status === null) tally.skip(job.id, JOB_NOT_FOUND, 'job not found');
      else rest.push({ id: job.id, status: job.status });
    }
    return rest;
  }

  /**
   * The jobs named or matched, chunk by chunk, with their status as read then (null: no such job). Other work gets
   * a few ms between chunks; one turn of the event loop only after a chunk the action could change nothing of
   * (a filter walking a long history of finished jobs), which took no lock.
   */
  private async *chunks(dto: BulkActionDto, actionable: (status: JobStatus) => boolean): AsyncGenerator<Matched[]> {
    const pause = (chunk: Matched[]) => (chunk.some((m) => m.status !== null && actionable(m.status)) ? breathe() : yieldTurn());
    if ((dto.ids === undefined) === (dto.filter === undefined)) {
      throw new ValidationFailedError([{ field: 'ids', message: 'send either ids or filter, not both and not neither' }], INVALID_BULK_REQUEST);
    }
    if (dto.ids) {
      // Oldest first, as a filter's jobs are: a retry of a job upstream then brings back the jobs named after it
      // (counted as changed) before their own turn, whatever order the request listed them in.
      const named = [...new Set(dto.ids.map((id) => id.toLowerCase()))];
      const existing = await this.bulk.oldestFirst(named);
      const found = new Set(existing);
      const ids = [...existing, ...named.filter((id) => !found.has(id))];
      for (let i = 0; i < ids.length; i += BULK_CHUNK) {
        const part = ids.slice(i, i + BULK_CHUNK);
        const statuses = await this.bulk.statusesOf(part);
        const chunk = part.map((id) => ({ id, status: statuses.get(id) ?? null }));
        yield chunk;
        await pause(chunk);
      }
      return;
    }
    const f = dto.filter!;
    const filter: BulkFilter = {
      statuses: f.status,
      types: f.type,
      priorities: f.priority,
      scheduleIds: f.schedule_id?.map((id) => id.toLowerCase()),
      createdBefore: f.created_before ? latest(f.created_before.map(instant)) : undefined,
    };
    if (!filter.statuses && !filter.types && !filter.priorities && !filter.scheduleIds && !filter.createdBefore) {
      throw new ValidationFailedError(
        [{ field: 'filter', message: 'filter needs at least one criterion: status, type, priority, schedule_id or created_before' }],
        INVALID_BULK_REQUEST,
      );
    }
    // The jobs that exist when the request begins: a job submitted while it runs is not its to change
    // (a steady flow of submits matching the filter would otherwise keep the request going without end).
    const begun = await this.bulk.now();
    const bounded: BulkFilter = { ...filter, createdBefore: filter.createdBefore && filter.createdBefore < begun ? filter.createdBefore : begun };
    let after: { createdAt: Date; id: string } | null = null;
    for (;;) {
      const page = await this.bulk.matchPage(bounded, after, BULK_CHUNK);
      if (page.length === 0) return;
      const chunk = page.map((j) => ({ id: j.id, status: j.status }));
      yield chunk;
      const last = page[page.length - 1]!;
      after = { createdAt: last.createdAt, id: last.id };
      if (page.length < BULK_CHUNK) return;
      await pause(chunk);
    }
  }
}

/** A validated `created_before` as the instant it names. */
function instant(text: string): Date {
  const parsed = parseZonedInstant(text);
  if ('problem' in parsed) throw new ValidationFailedError([{ field: 'filter.created_before', message: `filter.created_before ${parsed.problem}` }]);
  return parsed.at;
}

const latest = (instants: Date[]) => new Date(Math.max(...instants.map((d) => d.getTime())));

/** Lets other work (pickup, completions, requests) run between two chunks; or for one turn of the event loop. */
const breathe = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
