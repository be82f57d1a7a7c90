/**
 * Placement of ready jobs on workers (DESIGN §4): priority order, best fit, starvation guard, and
 * the reason every job left waiting has to wait. Pure: no I/O, no clock.
 */
import { QUEUE_RULE_REASONS, WAITING } from '../../common/domain/waiting-reasons.js';
export interface Resources {
  slots: number;
  cpuUnits: number;
  memoryMb: number;
}

export interface WorkerRoom {
  id: string;
  /** Only accepting workers get new jobs (not draining, lost or stopped). */
  accepting: boolean;
  /** Not accepting for a while only: it did not start what it was handed (the scheduler passes it over). */
  passedOver?: boolean;
  capacity: Resources;
  allocated: Resources;
}

export interface QueuedJob {
  id: string;
  cpuUnits: number;
  memoryMb: number;
  /** Whether it has waited past STARVATION_SECONDS. */
  starving: boolean;
  /** Its type and concurrency key, for an admission gate (flow control); absent when none is used. */
  type?: string;
  concurrencyKey?: string | null;
}

/**
 * A rule outside resources that may hold a job back (the queue rules of DESIGN §12). Asked before
 * a job is fitted; told of each job placed, so that its later answers in the same plan count it.
 */
export interface AdmissionGate {
  check(job: QueuedJob): Reason | null;
  admit(job: QueuedJob): void;
}

export interface Reason {
  code: typeof WAITING.NO_WORKERS | typeof WAITING.INSUFFICIENT_RESOURCES | (typeof QUEUE_RULE_REASONS)[number];
  message: string;
  [extra: string]: unknown;
}

export interface PlacementPlan {
  placements: Array<{ jobId: string; workerId: string }>;
  waiting: Array<{ jobId: string; reason: Reason }>;
  /** Workers kept free for a starving job: worker id -> job id. */
  reservations: Map<string, string>;
}

const free = (w: WorkerRoom): Resources => ({
  slots: w.capacity.slots - w.allocated.slots,
  cpuUnits: w.capacity.cpuUnits - w.allocated.cpuUnits,
  memoryMb: w.capacity.memoryMb - w.allocated.memoryMb,
});

const fitsIn = (job: QueuedJob, room: Resources) => room.slots >= 1 && room.cpuUnits >= job.cpuUnits && room.memoryMb >= job.memoryMb;

/** Room left after placing, as a share of capacity: the smaller, the better the fit. */
function leftover(job: QueuedJob, w: WorkerRoom): number {
  const room = free(w);
  return (
    (room.slots - 1) / w.capacity.slots +
    (room.cpuUnits - job.cpuUnits) / w.capacity.cpuUnits +
    (room.memoryMb - job.memoryMb) / w.capacity.memoryMb
  );
}

/** Among the workers that fit, the one with the least room left (ties: by id, for stable plans). */
export function bestFit(job: QueuedJob, workers: readonly WorkerRoom[]): WorkerRoom | null {
  let best: WorkerRoom | null = null;
  let bestScore = Infinity;
  for (const w of workers) {
    if (!w.accepting || !fitsIn(job, free(w))) continue;
    const score = leftover(job, w);
    if (score < bestScore || (score === bestScore && best !== null && w.id < best.id)) {
      best = w;
      bestScore = score;
    }
  }
  return best;
}

/** Kubernetes-style: "0/2 workers fit: 2 insufficient cpu_units". */
export function explainWaiting(job: QueuedJob, workers: readonly WorkerRoom[], reservedFor?: ReadonlyMap<string, string>): Reason {
  const accepting = workers.filter((w) => w.accepting);
  if (accepting.length === 0) {
    return {
      code: WAITING.NO_WORKERS,
      message: workers.length === 0 ? 'no worker is registered' : `0/${workers.length} workers accept jobs (draining, stopping, or passed over for not starting what they were handed)`,
    };
  }
  // A worker passed over for a while is one of the workers the job may still run on: counted, so that
  // `never_fits` does not read as "no worker could ever hold it" while a big enough one sits out.
  const passedOver = workers.filter((w) => !w.accepting && w.passedOver);
  const lacking = { slots: 0, cpu_units: 0, memory_mb: 0 };
  const tooSmall = { cpu_units: 0, memory_mb: 0 };
  let reserved = 0;
  for (const w of [...accepting, ...passedOver]) {
    if (w.capacity.cpuUnits < job.cpuUnits) tooSmall.cpu_units += 1;
    if (w.capacity.memoryMb < job.memoryMb) tooSmall.memory_mb += 1;
  }
  for (const w of accepting) {
    const room = free(w);
    if (reservedFor?.has(w.id) && reservedFor.get(w.id) !== job.id) reserved += 1;
    if (room.slots < 1) lacking.slots += 1;
    if (room.cpuUnits < job.cpuUnits) lacking.cpu_units += 1;
    if (room.memoryMb < job.memoryMb) lacking.memory_mb += 1;
  }
  const parts: string[] = [];
  if (lacking.slots) parts.push(`${lacking.slots} no free slot`);
  if (lacking.cpu_units) parts.push(`${lacking.cpu_units} insufficient cpu_units`);
  if (lacking.memory_mb) parts.push(`${lacking.memory_mb} insufficient memory_mb`);
  if (reserved) parts.push(`${reserved} reserved for a starving job`);
  if (passedOver.length) parts.push(`${passedOver.length} passed over for now (did not start what it was handed)`);
  return {
    code: WAITING.INSUFFICIENT_RESOURCES,
    message: `0/${accepting.length + passedOver.length} workers fit: ${parts.join(', ') || 'no room'}`,
    workers: accepting.length + passedOver.length,
    lacking,
    ...(tooSmall.cpu_units || tooSmall.memory_mb ? { never_fits: tooSmall } : {}),
    ...(reserved ? { reserved } : {}),
    ...(passedOver.length ? { passed_over: passedOver.length } : {}),
    requested: { cpu_units: job.cpuUnits, memory_mb: job.memoryMb },
  };
}

/**
 * Places jobs in the order given (priority, then age), starving jobs first. A starving job that
 * does not fit now reserves the worker where it would fit best once that worker empties, and no
 * other job is placed there until it runs, and it counts against its queue rules (`gate`) as placed
 * for the rest of the pass. A job the `gate` holds back waits with the gate's reason and reserves
 * nothing; the jobs behind it go on. `workers` is not modified.
 */
export function planPlacements(queue: readonly QueuedJob[], workers: readonly WorkerRoom[], gate?: AdmissionGate): PlacementPlan {
  const rooms = workers.map((w) => ({ ...w, allocated: { ...w.allocated } }));
  const reservations = new Map<string, string>();
  const plan: PlacementPlan = { placements: [], waiting: [], reservations };
  const ordered = [...queue.filter((j) => j.starving), ...queue.filter((j) => !j.starving)];
  const unplaced: QueuedJob[] = [];

  for (const job of ordered) {
    const held = gate?.check(job);
    if (held) {
      plan.waiting.push({ jobId: job.id, reason: held });
      continue;
    }
    const open = rooms.filter((w) => !reservations.has(w.id) || reservations.get(w.id) === job.id);
    const target = bestFit(job, open);
    if (target) {
      target.allocated.slots += 1;
      target.allocated.cpuUnits += job.cpuUnits;
      target.allocated.memoryMb += job.memoryMb;
      plan.placements.push({ jobId: job.id, workerId: target.id });
      gate?.admit(job);
      continue;
    }
    if (job.starving) {
      // Reserve the accepting, unreserved worker big enough for it that is closest to having the room.
      const candidates = rooms.filter(
        (w) => w.accepting && !reservations.has(w.id) && w.capacity.cpuUnits >= job.cpuUnits && w.capacity.memoryMb >= job.memoryMb && w.capacity.slots >= 1,
      );
      candidates.sort((a, b) => shortfall(job, a) - shortfall(job, b) || a.id.localeCompare(b.id));
      if (candidates[0]) {
        reservations.set(candidates[0].id, job.id);
        // It keeps its place under the queue rules too: a smaller job of its type or key taking the last
        // slot of the limit would hold the type back as a whole from the next pass on, and the starving
        // job with it, for as long as smaller ones keep coming.
        gate?.admit(job);
      }
    }
    unplaced.push(job);
  }
  for (const job of unplaced) plan.waiting.push({ jobId: job.id, reason: explainWaiting(job, rooms, reservations) });
  return plan;
}

function shortfall(job: QueuedJob, w: WorkerRoom): number {
  const room = free(w);
  return (
    Math.max(0, 1 - room.slots) / w.capacity.slots +
    Math.max(0, job.cpuUnits - room.cpuUnits) / w.capacity.cpuUnits +
    Math.max(0, job.memoryMb - room.memoryMb) / w.capacity.memoryMb
  );
}
