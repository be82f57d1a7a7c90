import { Injectable } from '@nestjs/common';
import { CONFLICT, DEPENDENCY_NOT_COMPLETED, INVALID_BULK_REQUEST, JOB_ALREADY_FINISHED, JOB_NOT_FOUND } from '../common/domain/error-codes.js';
import { ValidationFailedError } from '../common/errors/domain-error.js';
import { isLostRace, retryLostRaces } from '../database/db-errors.js';
import { CANCELLED_BY_USER } from './domain/error-codes.js';
import { sourcesOf, type JobStatus } from './domain/job-state.js';
import { parseZonedInstant } from './domain/run-at.js';
import type { BulkActionDto } from './dto/bulk-action.dto.js';
import type { JobErrorInfo } from './entities/job.entity.js';
import { JobBulkRepository, type BulkFilter } from './job-bulk.repository.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobRerunService, type RetryOutcome } from './job-rerun.service.js';
import { JobRepository } from './job.repository.js';
import { JobCancellationRepository } from './job-cancellation.repository.js';
import { mergeMoved, type Moved } from './transition-sql.js';

/** Jobs per transaction of a bulk action: short locks, so pickup goes on between the chunks. */
export const BULK_CHUNK = 500;
/** Skipped jobs listed in the answer (all are counted). */
const SKIPPED_LISTED = 100;
const CANCELLABLE = sourcesOf('cancelled');

export interface BulkResult {
  matched: number;
  changed: number;
  skipped: Array<{ id: string; reason: string; code: string }>;
  /** Jobs skipped as CONFLICT (their change lost to concurrent ones every time it ran); present when there are any. */
  conflicts?: number;
}

/** The reason given for a job skipped as CONFLICT. */
const CONFLICT_REASON =
  'the change of this job lost to concurrent changes of the same jobs every time it was run (deadlock or serialization failure) and was not made: send the request again for it';

/** A transaction that lost its race as many times as retryLostRaces ran it, as thrown or wrapped by TypeORM. */
const lostRace = (error: unknown) => isLostRace(error) || isLostRace((error as { driverError?: unknown } | null)?.driverError);

type Matched = { id: string; status: JobStatus | null };

/** Tallies a bulk action: what it matched, changed and skipped (and why), and every job it moved. */
class Tally {
  matched = 0;
  changed = 0;
  skippedCount = 0;
  conflicts = 0;
  readonly skipped: BulkResult['skipped'] = [];
  /** Jobs this action moved, those of cascades included: matched later, they count as changed. */
  readonly touched = new Set<string>();

  skip(id: string, code: string, reason: string): void {
    this.skippedCount++;
    if (this.skipped.length < SKIPPED_LISTED) this.skipped.push({ id, reason, code });
  }

  /** A job whose change lost its race every time: skipped, and counted apart, so that the answer says to send it again. */
  conflict(id: string): void {
    this.conflicts++;
    this.skip(id, CONFLICT, CONFLICT_REASON);
  }

  result(): BulkResult {
    const result: BulkResult = { matched: this.matched, changed: this.changed, skipped: this.skipped };
    if (this.conflicts > 0) result.conflicts = this.conflicts;
    return result;
  }
}

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
    for await (const chunk of this.chunks(dto)) {
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
    const record = (id: string, outcome: RetryOutcome) => {
      if (outcome.ok) {
        tally.changed++;
        for (const moved of outcome.movedIds) tally.touched.add(moved);
      } else {
        tally.skip(id, outcome.error.code, outcome.error.message);
      }
    };
    // Jobs refused because a dependency of theirs has not completed: that dependency may be matched later
    // by this same request (a batch lists a dependent before its dependency, and both get one created_at),
    // and its retry then brings them back. They are settled once every job matched was tried.
    const waitingForUpstream = new Map<string, RetryOutcome>();
    for await (const chunk of this.chunks(dto)) {
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
          record(job.id, outcomes.get(job.id)!);
          continue;
        }
        try {
          const outcome = await this.reruns.tryRetry(job.id, actor);
          if (!outcome.ok && outcome.error.code === DEPENDENCY_NOT_COMPLETED) waitingForUpstream.set(job.id, outcome);
          else record(job.id, outcome);
        } catch (thrown) {
          if (!lostRace(thrown)) throw thrown;
          tally.conflict(job.id);
        }
      }
    }
    await this.retryWaiting(waitingForUpstream, tally, record, actor);
    for (const [id, refused] of waitingForUpstream) {
      if (tally.touched.has(id)) tally.changed++;
      else record(id, refused);
    }
    return tally.result();
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

  /** The jobs named or matched, chunk by chunk, with their status as read then (null: no such job). */
  private async *chunks(dto: BulkActionDto): AsyncGenerator<Matched[]> {
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
        yield part.map((id) => ({ id, status: statuses.get(id) ?? null }));
        await breathe();
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
      yield page.map((j) => ({ id: j.id, status: j.status }));
      const last = page[page.length - 1]!;
      after = { createdAt: last.createdAt, id: last.id };
      if (page.length < BULK_CHUNK) return;
      await breathe();
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

/** Lets other work (pickup, completions, requests) run between two chunks. */
const breathe = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
