/**
 * How a placement pass reads the ready queue (DESIGN §12), as pure decisions: which read it makes
 * (the plain head or the fair query), what it learns from it for the next pass, and the fair order
 * of a ready set read whole. No I/O.
 */
import type { HeldBack, ReadyJob } from '../../database/job-order.js';
import { holdsAnything, type Held } from './scheduling.js';

/**
 * How a pass reads the ready queue (DESIGN §12). The fair order (keys take turns, what the rules hold
 * back as a whole left out) is what it places in; it is computed in one of two ways:
 *
 * - While the ready set fits in the pass's window, the plain head read (priority, due time, id) returns
 *   all of it, and `fairOrder` orders it here: the same order as the fair query, for the cost of the
 *   plain read. That is the common case, and the one a pickup's latency depends on.
 * - With a backlog (the head filled the window), jobs beyond the window may have earlier turns, so the
 *   fair query is read (`fairReadyQueue`: a skip scan of the keys, each key's share). It is needed when
 *   something is held, or a ready job has a key: in the head, or, probed for, behind it.
 *
 * So a pass reads the head first unless it knows of a backlog with keys or holds (`readsHeadFirst`),
 * in which case it reads the fair query straight away, saving a head read per pass under load.
 */
export const readsFairAtOnce = (held: Held | undefined, keyedSeen: boolean) => holdsAnything(held) || keyedSeen;

/** Whether a pass reads the plain head first: unless a backlog with keys or holds makes the fair query the one it needs. */
export const readsHeadFirst = (held: Held | undefined, keyedSeen: boolean, backlog: boolean) => !backlog || !readsFairAtOnce(held, keyedSeen);

/**
 * Whether the ready queue had a backlog at the last read: the head filled the window (null: the pass
 * read the fair query straight away, and a backlog lasts while that finds jobs).
 */
export const backlogAfter = (headRead: number | null, fairRead: number, window: number) =>
  headRead === null ? fairRead > 0 : headRead >= window;

/** Whether the last read that found jobs found a keyed one (readsFairAtOnce): an empty read leaves it as it was. */
export function keyedSeenAfter(ready: ReadonlyArray<{ concurrencyKey: string | null }>, before: boolean): boolean {
  return ready.length === 0 ? before : ready.some((j) => j.concurrencyKey !== null);
}

/**
 * The fair ready queue's order (ReadyCandidatesRepository.fairReadyQueue, DESIGN §12) of a ready set
 * read whole in the plain order (priority, due time, id): the types and (type, key) pairs in `out`
 * left out; each key keeps its first `share` jobs (the window `limit` over its distinct open keys);
 * then by priority, turn (each key's 1st, 2nd, ... job of that priority; jobs without a key share one
 * turn), due time, id. Only exact when `head` is the whole ready set (a head read shorter than its limit).
 */
export function fairOrder(head: readonly ReadyJob[], out: HeldBack, limit: number): ReadyJob[] {
  const heldTypes = new Set(out.types);
  const heldPairs = new Set(out.pairs.map((p) => `${p.type}\u0000${p.key}`));
  const open = head.filter((j) => !heldTypes.has(j.type) && (j.concurrencyKey === null || !heldPairs.has(`${j.type}\u0000${j.concurrencyKey}`)));
  const keys = new Set(open.flatMap((j) => (j.concurrencyKey === null ? [] : [j.concurrencyKey])));
  if (keys.size === 0) return open.slice(0, limit); // no turns to take: the plain order is the fair one
  const share = Math.max(1, Math.ceil(limit / keys.size));
  const taken = new Map<string, number>();
  let turns = new Map<string | null, number>();
  const ranked: Array<{ job: ReadyJob; band: number; turn: number; at: number }> = [];
  let band = -1;
  let priority: string | undefined;
  for (const [at, job] of open.entries()) {
    if (job.priority !== priority) {
      band += 1;
      priority = job.priority;
      turns = new Map();
    }
    const key = job.concurrencyKey;
    if (key !== null) {
      const n = (taken.get(key) ?? 0) + 1;
      taken.set(key, n);
      if (n > share) continue;
    }
    const turn = (turns.get(key) ?? 0) + 1;
    turns.set(key, turn);
    ranked.push({ job, band, turn, at });
  }
  ranked.sort((a, b) => a.band - b.band || a.turn - b.turn || a.at - b.at);
  return ranked.slice(0, limit).map((r) => r.job);
}

/** The types and (type, key) pairs the fair ready queue leaves out. */
export function leftOut(held: Held | undefined): HeldBack {
  return {
    types: [...(held?.types.keys() ?? [])],
    pairs: [...(held?.pairs.values() ?? [])].map(({ type, key }) => ({ type, key })),
  };
}

/**
 * The fair order of a read (`ready`, in fair order: priority, turn, due time) with each turn's ties
 * broken by the key served longest ago instead of by due time (`lastServed`: a key's place in the
 * sequence of starts, absent = never or long ago; jobs without a key count as one key). A read ranks
 * each key's first job as turn 1 whatever happened before it, so when one job starts at a time (one
 * slot, or one job's worth of cpu, freeing up) the key due earliest would win every pass; remembering
 * whom the last passes served makes the keys take turns across passes too (DESIGN §12).
 */
export function servedInTurn(ready: readonly ReadyJob[], lastServed: ReadonlyMap<string, number>): readonly ReadyJob[] {
  if (!ready.some((j) => j.concurrencyKey !== null)) return ready; // one key (none): nothing to take turns with
  let band = -1;
  let priority: string | undefined;
  let turns = new Map<string, number>();
  const ranked = ready.map((job, at) => {
    if (job.priority !== priority) {
      band += 1;
      priority = job.priority;
      turns = new Map();
    }
    const key = servedKey(job.concurrencyKey);
    const turn = (turns.get(key) ?? 0) + 1;
    turns.set(key, turn);
    return { job, band, turn, served: lastServed.get(key) ?? 0, at };
  });
  ranked.sort((a, b) => a.band - b.band || a.turn - b.turn || a.served - b.served || a.at - b.at);
  return ranked.map((r) => r.job);
}

/** The name under which a job's key is remembered as served (servedInTurn): jobs without a key share one. */
export const servedKey = (concurrencyKey: string | null) => (concurrencyKey === null ? '' : `k:${concurrencyKey}`);

/**
 * The window read with the jobs a look behind it found (`beyond`: the oldest ready jobs of each
 * priority that waited past STARVATION_SECONDS, and those that could start now or have no waiting
 * reason yet), added at its end when the rules do not hold them back: the planner places starving
 * jobs first wherever they stand, places a smaller job where the window's larger ones do not fit, and
 * gives each one it cannot place its reason (DESIGN §4), though a backlog fills every window.
 */
export function withBeyond(ready: readonly ReadyJob[], beyond: readonly ReadyJob[], held: HeldBack): ReadyJob[] {
  const seen = new Set(ready.map((j) => j.id));
  const heldTypes = new Set(held.types);
  const added = beyond.filter(
    (j) => !seen.has(j.id) && seen.add(j.id) && !heldTypes.has(j.type!) && !held.pairs.some((p) => p.type === j.type && p.key === j.concurrencyKey),
  );
  return added.length === 0 ? (ready as ReadyJob[]) : [...ready, ...added];
}
