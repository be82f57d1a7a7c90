/**
 * The scheduler's decisions (DESIGN §4, §10, §12) as pure functions: what an event or a signal
 * changes, which ready jobs a pass considers and how, which placements go to which lane, which
 * reasons to write, when a wake-up timer is re-armed, what a sweep hands over again or takes back.
 * No I/O, no clock: callers pass `now`.
 */
import type { ClusterSignal, JobEvent } from '../../events/job-event-bus.js';
import type { Worker } from '../../resources/entities/worker.entity.js';
import type { QueuedJob, Reason, Resources, WorkerRoom } from '../../resources/domain/placement.js';
import type { FlowGate } from './flow-control.js';
import type { ReadyJob } from '../../database/job-order.js';

/**
 * Longest a wake-up timer is set for. A delayed job may be years ahead, and Node fires a longer
 * timeout at once; a timer that fires early finds nothing due and re-arms for what is.
 */
export const MAX_TIMER_MS = 3_600_000;

/** Events after which there may be something to place. */
const TRIGGERS = new Set<JobEvent['event']>(['job_ready', 'job_completed', 'job_failed', 'job_timeout', 'job_cancelled']);
/** Events of a job leaving running, which frees its booking (job_cancelled is rebuilt from the table). */
const RELEASES = new Set<JobEvent['event']>(['job_completed', 'job_failed', 'job_timeout']);

/** What a job event changes for the leader. */
export interface EventEffects {
  /** The job's booking ends: release it from the ledger. */
  release: boolean;
  /** The job really started then (ms): the start log moves its booked start there. */
  startedAt: number | null;
  /** The ledger can no longer follow exactly: rebuild it at the next pass. */
  ledgerStale: boolean;
  /** The job now waits pending until then (ms; a retry's backoff, a delayed job's run_at): wake up then. */
  dueAt: number | null;
  /** There may be something to place: ask for a pass. */
  kick: boolean;
  /** The job is ready now, of this type: a queue rule may hold it back, and its reason is due at once. */
  readyType: string | null;
}

export function eventEffects(event: JobEvent): EventEffects {
  const due = event.data.status === 'pending' && typeof event.data.next_run_at === 'string';
  const kick = !due && (TRIGGERS.has(event.event) || (event.event === 'job_created' && event.data.status === 'ready'));
  return {
    release: RELEASES.has(event.event),
    startedAt: event.event === 'job_started' ? Date.parse(event.data.timestamp) : null,
    ledgerStale: event.event === 'job_cancelled', // a running job keeps its booking until its handler stops
    dueAt: due ? Date.parse(event.data.next_run_at as string) : null,
    kick,
    readyType: kick && event.data.status === 'ready' ? event.data.type : null,
  };
}

/** What a cluster signal makes stale, and whether it asks for a pass (schedules are ScheduleTimer's). */
export function signalEffects(signal: ClusterSignal): { workers: boolean; ledger: boolean; rules: boolean; kick: boolean } {
  if (signal.kind === 'schedule_update') return { workers: false, ledger: false, rules: false, kick: false };
  return { workers: signal.kind === 'workers_changed', ledger: signal.kind === 'capacity_freed', rules: signal.kind === 'queues_changed', kick: true };
}

/** Workers with what they have booked (`booked`: the ledger's usage). Only active workers accept jobs. */
export function roomsOf(workers: readonly Worker[], booked: ReadonlyMap<string, Resources>): WorkerRoom[] {
  return workers.map((w) => ({
    id: w.id,
    accepting: w.status === 'active',
    capacity: { slots: w.maxConcurrentJobs, cpuUnits: w.maxCpuUnits, memoryMb: w.maxMemoryMb },
    allocated: {
      slots: booked.get(w.id)?.slots ?? 0,
      cpuUnits: booked.get(w.id)?.cpuUnits ?? 0,
      memoryMb: booked.get(w.id)?.memoryMb ?? 0,
    },
  }));
}

/** Whether any worker can take one more job (a slot free on an accepting worker). */
export const anyRoom = (rooms: readonly WorkerRoom[]) => rooms.some((w) => w.accepting && w.allocated.slots < w.capacity.slots);

/**
 * The most cpu and the most memory left on any accepting worker with a free slot (each its own
 * maximum: a job within both may fit somewhere, one beyond either fits nowhere); none: zero.
 */
export function largestRoom(rooms: readonly WorkerRoom[]): { cpuUnits: number; memoryMb: number } {
  let cpuUnits = 0;
  let memoryMb = 0;
  for (const w of rooms) {
    if (!w.accepting || w.allocated.slots >= w.capacity.slots) continue;
    cpuUnits = Math.max(cpuUnits, w.capacity.cpuUnits - w.allocated.cpuUnits);
    memoryMb = Math.max(memoryMb, w.capacity.memoryMb - w.allocated.memoryMb);
  }
  return { cpuUnits, memoryMb };
}

/** Workers whose placements stand: active and draining ones (a draining worker still starts what it was given). */
export const liveWorkerIds = (workers: readonly Worker[]) =>
  new Set(workers.filter((w) => w.status === 'active' || w.status === 'draining').map((w) => w.id));

/** What the rules hold back as a whole (FlowGate.heldBack). */
export type Held = ReturnType<FlowGate['heldBack']>;

/** Whether the rules hold back any type or (type, key) pair as a whole. */
export const holdsAnything = (held: Held | undefined) => held !== undefined && (held.types.size > 0 || held.pairs.size > 0);

/** A ready job as the pass reads it. */
export type ReadyRow = ReadyJob;

/** The planner's view of the ready jobs: starving when queued (or created) before `starvedBefore` (ms). */
export function queuedJobs(ready: readonly ReadyRow[], starvedBefore: number): QueuedJob[] {
  const waitingSince = ready.map((j) => (j.queuedAt ?? j.createdAt).getTime());
  const queued = ready.map((j, i) => ({
    id: j.id,
    cpuUnits: j.cpuUnits,
    memoryMb: j.memoryMb,
    starving: waitingSince[i]! < starvedBefore,
    type: j.type,
    concurrencyKey: j.concurrencyKey,
  }));
  // Starving jobs go by how long they have waited, whatever their priority: under a backlog of higher
  // priority that waits past STARVATION_SECONDS too, the low job that waited longest goes first.
  // (planPlacements keeps starving jobs ahead of the rest in the order given here.)
  const starving = queued.map((_, i) => i).filter((i) => queued[i]!.starving);
  if (starving.length < 2) return queued;
  starving.sort((a, b) => waitingSince[a]! - waitingSince[b]!);
  return [...starving.map((i) => queued[i]!), ...queued.filter((j) => !j.starving)];
}

/**
 * A worker of this process gets its jobs placed and started in one statement and handed over in
 * memory (`here`, per worker, in plan order); the others get them booked and carried by their queues.
 */
export function byLane(
  placements: ReadonlyArray<{ jobId: string; workerId: string }>,
  runsHere: (workerId: string) => boolean,
): { here: Map<string, string[]>; elsewhere: Array<{ id: string; workerId: string }> } {
  const here = new Map<string, string[]>();
  const elsewhere: Array<{ id: string; workerId: string }> = [];
  for (const p of placements) {
    if (!runsHere(p.workerId)) elsewhere.push({ id: p.jobId, workerId: p.workerId });
    else if (here.has(p.workerId)) here.get(p.workerId)!.push(p.jobId);
    else here.set(p.workerId, [p.jobId]);
  }
  return { here, elsewhere };
}

/** The waiting reasons that differ from what the jobs say now: only those are written. */
export function changedReasons(
  ready: readonly ReadyRow[],
  waiting: ReadonlyArray<{ jobId: string; reason: Reason }>,
): Array<{ id: string; reason: Reason }> {
  const current = new Map(ready.map((j) => [j.id, `${j.reasonCode}|${j.reasonMessage}`]));
  return waiting.filter((w) => current.get(w.jobId) !== `${w.reason.code}|${w.reason.message}`).map((w) => ({ id: w.jobId, reason: w.reason }));
}

/** Whether a pass should run again at once: it placed something from a full window, so more may wait. */
export const fullWindowPlaced = (placed: number, read: number, window: number) => placed > 0 && read === window;

/** What the rules hold back as a whole now (type, or type + NUL + key), and what they no longer hold since `before`. */
/**
 * What the held gauge (draconic_queue_held) shows for `held`, as one string: each type held as a
 * whole with its reason's code. The gauge is written again only when this changes.
 */
export function heldGauge(held: Held | undefined): string {
  return [...(held?.types ?? [])]
    .map(([type, reason]) => `${type}\u0000${reason.code}`)
    .sort()
    .join('\u0001');
}

export function heldChange(
  held: Held | undefined,
  before: ReadonlyMap<string, { type: string; key: string | null }>,
): { now: Map<string, { type: string; key: string | null }>; released: Array<{ type: string; key: string | null }> } {
  const now = new Map<string, { type: string; key: string | null }>();
  for (const type of held?.types.keys() ?? []) now.set(type, { type, key: null });
  for (const [k, { type, key }] of held?.pairs ?? []) now.set(k, { type, key });
  return { now, released: [...before].filter(([k]) => !now.has(k)).map(([, v]) => v) };
}

/** The due-job timer, armed for `armedAt`, already wakes early enough for a job due at `at`. */
export const dueTimerKept = (armedAt: number | null, at: number) => armedAt !== null && armedAt <= at;

/** How long the due-job timer waits for `at`: never negative, never longer than MAX_TIMER_MS. */
export const dueTimerDelay = (at: number, now: number) => Math.min(Math.max(0, at - now), MAX_TIMER_MS);

/** Due jobs promoted by one statement at most (JobTransitionsRepository.promoteDue's limit). */
export const PROMOTE_BATCH = 1000;

/**
 * How long one promotion round should take (ms). A round's jobs are published when its statement
 * returns, so its length is added to the lateness of every job it promotes, and of every job that
 * comes due while it runs (taken by the next round): lateness is about two rounds' length, and the
 * 100 ms target allows rounds of 50 ms. Beside the runs of the jobs it releases, a row cost
 * 100-135 us and a 1,000-row round 90-135 ms: one slow round (a stall) took all that came due
 * meanwhile, ran long in turn, and so did the next.
 *
 * Not shorter: a round has a fixed cost F besides its rows (c each). With jobs coming due at r a
 * millisecond, rounds that take all that came due settle at F / (1 - c r) ms; a cap on a round's
 * rows keeps up with the arrivals only while that settled length is within the cap's length. So a
 * 50 ms cap never holds back a load under which the target can be met (settled rounds of 50 ms
 * or less), and only splits the backlog after a stall into rounds that each publish sooner.
 */
export const PROMOTE_ROUND_MS = 50;

/** Fewest due jobs one round takes, whatever a row costs: the statement's fixed cost stays small beside its rows. */
export const PROMOTE_ROUND_MIN = 200;

/** What a promoted row is taken to cost (ms) before any round measured it: a row's cost beside running jobs. */
export const PROMOTE_ROW_MS_UNMEASURED = 0.1;

/**
 * Rounds of fewer rows than this measure the statement's fixed cost more than a row's: they leave
 * the estimate as it is (they take all that is due, so no limit held them back).
 */
const PROMOTE_COST_SAMPLE_MIN = 100;

/**
 * What a promoted row costs (ms), from the estimate so far (null: none yet) and a round that
 * promoted `promoted` rows in `ms` (statement and publish): the mean of the two, so that one slow
 * round halves the next one's size rather than setting it, and the estimate follows the load
 * within a few rounds.
 */
export function promoteRowCost(estimate: number | null, promoted: number, ms: number): number | null {
  if (promoted < PROMOTE_COST_SAMPLE_MIN || !(ms >= 0)) return estimate;
  const sample = ms / promoted;
  return estimate === null ? sample : (estimate + sample) / 2;
}

/**
 * How many due jobs the next round takes: as many as fit in PROMOTE_ROUND_MS at the estimated
 * row cost, within [PROMOTE_ROUND_MIN, PROMOTE_BATCH]. Jobs due beyond it wait for the next round,
 * which starts at once, earliest first, so a backlog leaves in short rounds that each publish
 * sooner instead of one long one that publishes all at its end.
 */
export function promoteRoundLimit(rowMs: number | null): number {
  const cost = rowMs ?? PROMOTE_ROW_MS_UNMEASURED;
  if (!(cost > 0)) return PROMOTE_BATCH;
  return Math.min(PROMOTE_BATCH, Math.max(PROMOTE_ROUND_MIN, Math.floor(PROMOTE_ROUND_MS / cost)));
}

/**
 * Whether the due timer promotes again at once after a round, before reading the next due time: the
 * round was full (more due jobs wait; no read, no timer in between), or a wake-up came while it ran.
 */
export const promoteAgainAtOnce = (promoted: number, limit: number, wokenMeanwhile: boolean): boolean =>
  promoted >= limit || wokenMeanwhile;

/**
 * Whether the due timer promotes again at once after reading the next due time `nextDue` (null: none),
 * instead of arming for it: a wake-up came meanwhile, or the next job is due already and the round
 * just ended promoted some (jobs coming due in a burst). A round that promoted none while a job is
 * due (its row locked by another statement, SKIP LOCKED) arms the timer instead of looping at once.
 */
/**
 * When the due timer wakes for the next due job read after a round (`next`, ms): a job due already that
 * the round did not promote is locked by another transaction (a batch submitting dependents holds it
 * FOR SHARE) or due by the database's clock and not yet by this one's, so it is looked at again after
 * DUE_RETRY_MS rather than at once, round after round.
 */
export const dueWakeAt = (next: number | null, promoted: number, now: number): number | null =>
  next !== null && promoted === 0 && next <= now ? now + DUE_RETRY_MS : next;

export const DUE_RETRY_MS = 50;

export const promoteAgainAfterRead = (promoted: number, nextDue: number | null, now: number, wokenMeanwhile: boolean): boolean =>
  wokenMeanwhile || (promoted > 0 && nextDue !== null && nextDue <= now);

/** The rate timer, armed for `armedAt`, already wakes early enough for `at` (and is not overdue). */
export const rateTimerKept = (armedAt: number | null, at: number, now: number) => armedAt !== null && armedAt <= at && armedAt >= now;

/** How long the rate timer waits: until just after `at`, when the start is allowed. */
export const rateTimerDelay = (at: number, now: number) => Math.max(0, at - now) + 1;
