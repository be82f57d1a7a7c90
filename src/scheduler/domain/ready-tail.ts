/**
 * The ready jobs the leader knows of without reading the ready queue (DESIGN §4), as pure state: no
 * I/O, no clock.
 *
 * A read of the ready queue that returned less than a window, with nothing held back, and placed every
 * job it returned, leaves the queue empty as of its snapshot. From then on every job that becomes ready
 * and unplaced says so in an event (job_created with status ready, job_ready), and those events carry
 * what a placement needs of it (cpu_units, memory_mb, concurrency_key, created_at, run_at, queued_at).
 * So, until something it cannot follow happens, the leader knows the whole ready queue from the
 * events alone, and a pass places those jobs without reading it: one round trip less between a job
 * becoming ready and its start, which was a third to a half of a pickup.
 *
 * What it cannot follow makes it unknown (`forget`), and the next pass reads the queue again: a ready
 * event without those fields, a job it tracked that did not start, a cluster signal (a worker giving its
 * placements back does so without events), the sweep (the safety net: placements taken back, anything
 * missed), a change of leadership, more arrivals than a window. Jobs placed from it start only if they
 * are still ready and unplaced (the start statement's guard), so a stale entry costs a read, never a
 * wrong start.
 */
import type { JobEvent } from '../../events/job-event-bus.js';
import type { ReadyJob } from '../../database/job-order.js';
import { PRIORITIES } from '../../jobs/domain/job-state.js';

/** A ready job with its due time (ms; DUE_AT: its run_at when later than its submit). */
export interface TailJob {
  job: ReadyJob;
  due: number;
}

/** A ready job read from its event's data, or null when the event lacks a placement field. */
export function readyJobOfEvent(event: JobEvent): TailJob | null {
  const d = event.data;
  if (typeof d.cpu_units !== 'number' || typeof d.memory_mb !== 'number' || typeof d.created_at !== 'string') return null;
  const createdAt = new Date(d.created_at);
  const runAt = typeof d.run_at === 'string' ? Date.parse(d.run_at) : NaN;
  if (Number.isNaN(createdAt.getTime())) return null;
  const job: ReadyJob = {
    id: event.jobId,
    type: d.type,
    concurrencyKey: typeof d.concurrency_key === 'string' ? d.concurrency_key : null,
    priority: d.priority,
    cpuUnits: d.cpu_units,
    memoryMb: d.memory_mb,
    queuedAt: typeof d.queued_at === 'string' ? new Date(d.queued_at) : null,
    createdAt,
    reasonCode: null,
    reasonMessage: null,
  };
  return { job, due: Number.isNaN(runAt) ? createdAt.getTime() : Math.max(createdAt.getTime(), runAt) };
}

const RANK = new Map<string, number>(PRIORITIES.map((p, i) => [p, i]));

/** The ready queue's plain order (priority, then due time, then id), as its read returns it (DUE_AT). */
export function plainOrder(jobs: readonly TailJob[]): ReadyJob[] {
  return [...jobs]
    .sort((a, b) => (RANK.get(b.job.priority) ?? 0) - (RANK.get(a.job.priority) ?? 0) || a.due - b.due || (a.job.id < b.job.id ? -1 : a.job.id > b.job.id ? 1 : 0))
    .map((t) => t.job);
}

/** Events of a job becoming ready and unplaced. */
const becomesReady = (event: JobEvent) => event.data.status === 'ready' && (event.event === 'job_created' || event.event === 'job_ready');

export class ReadyTail {
  /** Ready jobs learnt from events since the last read began (or the whole ready queue, when `whole`). */
  private readonly jobs = new Map<string, TailJob>();
  /** `jobs` is the whole ready, unplaced queue. */
  private whole = false;
  /** Something happened since the last read began that `jobs` cannot follow. */
  private lost = false;

  /** `limit`: most arrivals it follows (a pass's window); past it, the queue is read. */
  constructor(private readonly limit: number) {}

  /** A job event, in the order the leader got it. */
  observe(event: JobEvent): void {
    if (becomesReady(event)) {
      const job = readyJobOfEvent(event);
      if (!job || this.jobs.size >= this.limit) return this.forget();
      this.jobs.set(event.jobId, job);
    } else if (event.data.status !== 'ready') {
      this.jobs.delete(event.jobId); // started, cancelled, ...: no longer waits to be placed
    }
  }

  /** Not known any more: the next pass reads the queue. */
  forget(): void {
    this.whole = false;
    this.lost = true;
    this.jobs.clear();
  }

  /** A read of the ready queue is about to be sent: what arrives from now on may be missing from it. */
  readBegins(): void {
    this.jobs.clear();
    this.whole = false;
    this.lost = false;
  }

  /**
   * The read's pass is over. `drained`: it returned less than a window, nothing was held back, and
   * every job it returned was placed. Then what arrived meanwhile (and is not among `read`) is the
   * whole queue.
   */
  readEnded(read: ReadonlyArray<{ id: string }>, drained: boolean): void {
    if (!drained || this.lost) return this.forget();
    for (const j of read) this.jobs.delete(j.id);
    this.whole = true;
  }

  /** The whole ready queue in its plain order (empty: nothing waits), when it is known; null: read it. */
  known(): ReadyJob[] | null {
    if (!this.whole) return null;
    return plainOrder([...this.jobs.values()]);
  }

  /**
   * A pass placed `planned` of `known()` and `placed` of them were placed: one that was not (taken
   * meanwhile, its worker stopping) makes the queue unknown. Those it did not plan (no room) stay known.
   */
  placed(planned: ReadonlyArray<{ jobId: string }>, placed: number): void {
    if (placed < planned.length) return this.forget();
    for (const p of planned) this.jobs.delete(p.jobId);
  }
}
