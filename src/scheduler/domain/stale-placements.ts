import type { WorkerRoom } from '../../resources/domain/placement.js';
import type { QueueRules } from './flow-control.js';

/**
 * How many times a placement not started is handed to its worker before it is taken back instead, and
 * how long (ms) placement then passes that worker over: a worker can keep its heartbeat (PostgreSQL)
 * while it cannot reach its queue (Redis), and would otherwise hold the jobs placed on it for as long.
 */
export const STALE_HAND_OVERS = { max: 3, passOverMs: 30_000 } as const;

/**
 * Counts the hand-overs of each placement not started, by job and attempt (the leader's memory: a new
 * leader counts afresh). A count not seen for `forgetMs` is forgotten (the job started, or went).
 */
export class StaleHandOvers {
  private readonly counts = new Map<string, { handedOver: number; seen: number }>();

  /** Of the stale placements on live workers: those to hand over again, and those handed over `max` times already, to take back. */
  sort<T extends { id: string; attempts: number }>(stale: readonly T[], now: number, forgetMs: number): { again: T[]; takeBack: T[] } {
    for (const [key, count] of this.counts) if (now - count.seen > forgetMs) this.counts.delete(key);
    const again: T[] = [];
    const takeBack: T[] = [];
    for (const placement of stale) {
      const key = `${placement.id}:${placement.attempts}`;
      const count = this.counts.get(key) ?? { handedOver: 0, seen: now };
      count.seen = now;
      if (count.handedOver >= STALE_HAND_OVERS.max) {
        this.counts.delete(key);
        takeBack.push(placement);
      } else {
        count.handedOver += 1;
        this.counts.set(key, count);
        again.push(placement);
      }
    }
    return { again, takeBack };
  }

  /**
   * The hand-overs `sort` counted for these did not happen (the dispatch failed: Redis refused it):
   * they are not counted against their workers.
   */
  uncount(placements: ReadonlyArray<{ id: string; attempts: number }>): void {
    for (const placement of placements) {
      const key = `${placement.id}:${placement.attempts}`;
      const count = this.counts.get(key);
      if (!count) continue;
      count.handedOver -= 1;
      if (count.handedOver <= 0) this.counts.delete(key);
    }
  }
}

/** The rooms of workers being passed over (`until`: worker id -> ms) do not accept jobs until then. */
export const passingOver = (rooms: WorkerRoom[], until: ReadonlyMap<string, number>, now: number): WorkerRoom[] =>
  until.size === 0 ? rooms : rooms.map((room) => ((until.get(room.id) ?? 0) > now && room.accepting ? { ...room, accepting: false, passedOver: true } : room));

/**
 * Placements a worker has not started in time, by what becomes of them: those on a worker no longer
 * live are taken back (`orphaned`); on a live worker, those of a type the queue rules must judge again
 * (`regated`: regatedTypes) are to be placed again (`placeAgain`) and the others handed over again
 * (`handOver`), each counted by StaleHandOvers.
 */
export function splitStale<T extends { id: string; workerId: string; type: string }>(
  stale: readonly T[],
  live: ReadonlySet<string>,
  regated: ReadonlySet<string>,
): { handOver: T[]; placeAgain: T[]; orphaned: string[] } {
  const onLive = stale.filter((s) => live.has(s.workerId));
  return {
    handOver: onLive.filter((s) => !regated.has(s.type)),
    placeAgain: onLive.filter((s) => regated.has(s.type)),
    orphaned: stale.filter((s) => !live.has(s.workerId)).map((s) => s.id),
  };
}

/**
 * The types whose placements not started go back through the queue rules' gate (DESIGN §12) rather
 * than to their worker again: a placement handed over again starts whenever its worker gets it, so
 * - a rate-limited type: long after the moment the limit counted it at (its placement); a leader
 *   taking over after a fault found several such starts on top of a full window;
 * - a paused type: placed before the pause, it would start in a paused queue;
 * - a type with more jobs placed or running (`running`, the ledger's counts) than its concurrency
 *   limit, or with a key over its key limit (lowered after they were placed): it would start over it.
 * Taken back, the job is placed again through the gate, or waits with the rule's reason.
 */
export function regatedTypes(
  rules: ReadonlyMap<string, QueueRules>,
  running: { byType: ReadonlyMap<string, number>; byKey: ReadonlyMap<string, number> },
): Set<string> {
  const types = new Set<string>();
  for (const [type, r] of rules) {
    if (r.rateLimit !== null || r.paused || (r.concurrencyLimit !== null && (running.byType.get(type) ?? 0) > r.concurrencyLimit)) types.add(type);
  }
  for (const [pair, count] of running.byKey) {
    const type = pair.slice(0, pair.indexOf('\u0000')); // pairKey: type NUL key
    const limit = rules.get(type)?.keyConcurrencyLimit ?? null;
    if (limit !== null && count > limit) types.add(type);
  }
  return types;
}
