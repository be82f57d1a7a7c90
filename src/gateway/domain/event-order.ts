/**
 * Keeps each job's events in sequence order (DESIGN §7) although they reach an API instance from
 * several processes: an event that arrives ahead of a missing one waits (at most `holdMs`) for it.
 * An event later than that still goes out when it comes, out of order: its sequence says where it belongs, and dropping it would lose it for good
 * (a process publishing a large batch can be seconds behind the workers already running its jobs).
 * Only a sequence already emitted is dropped, as a duplicate.
 * Pure apart from the clock passed in; bounded memory (the least recently seen jobs are forgotten).
 */
export interface Sequenced {
  jobId: string;
  sequence: number;
}

interface JobState<E> {
  last: number;
  /** Events ahead of a missing one, by sequence; null while none waits (most jobs, most of the time). */
  held: Map<number, { event: E; at: number }> | null;
  /**
   * Sequences at or below `last` never emitted (inclusive ranges): before the first one seen, and the
   * gaps given up on. Null for most jobs; at most MAX_MISSED ranges, the oldest forgotten first.
   */
  missed: Array<[number, number]> | null;
}

const MAX_MISSED = 4;

export class EventOrder<E extends Sequenced> {
  private readonly jobs = new Map<string, JobState<E>>();
  /** The jobs with held events: what flush() looks at, rather than every job remembered. */
  private readonly waiting = new Set<JobState<E>>();

  constructor(
    private readonly holdMs = 200,
    private readonly maxJobs = 100_000,
  ) {}

  /** Takes an event; returns those that may go out now, in order. */
  push(event: E, now: number): E[] {
    let state = this.jobs.get(event.jobId);
    if (state) {
      this.jobs.delete(event.jobId); // re-insert: most recently seen last
    } else {
      // First sight of this job: its earlier events may be a moment behind (a batch's job_created published
      // in chunks after the commit, while a worker already publishes job_started), so a later one waits
      // for them as for any gap; given up on, they still go out whenever they come.
      state = { last: 0, held: null, missed: null };
    }
    this.jobs.set(event.jobId, state);
    const forgotten = this.forgetOldest();
    const out = this.place(state, event, now);
    return forgotten.length === 0 ? out : [...forgotten, ...out];
  }

  private place(state: JobState<E>, event: E, now: number): E[] {
    if (event.sequence <= state.last) return takeMissed(state, event.sequence) ? [event] : []; // late, or a duplicate
    if (event.sequence === state.last + 1 && !state.held) {
      state.last = event.sequence; // the usual case: in order, nothing held
      return [event];
    }
    (state.held ??= new Map()).set(event.sequence, { event, at: now });
    this.waiting.add(state);
    return this.release(state, now, false);
  }

  /** Events held longer than `holdMs`: their gap is given up on. Call periodically. */
  flush(now: number): E[] {
    const out: E[] = [];
    for (const state of [...this.waiting]) out.push(...this.release(state, now, true));
    return out;
  }

  /** How many jobs have events held back (for tests). */
  get waitingJobs(): number {
    return this.waiting.size;
  }

  private release(state: JobState<E>, now: number, expire: boolean): E[] {
    const out: E[] = [];
    const held = state.held!;
    for (;;) {
      const next = held.get(state.last + 1);
      if (next) {
        held.delete(state.last + 1);
        state.last += 1;
        out.push(next.event);
        continue;
      }
      if (!expire || held.size === 0) break;
      const oldest = Math.min(...held.keys());
      if (now - held.get(oldest)!.at < this.holdMs) break;
      addMissed(state, state.last + 1, oldest - 1);
      state.last = oldest - 1; // skip the gap
    }
    if (held.size === 0) {
      state.held = null;
      this.waiting.delete(state);
    }
    return out;
  }

  /**
   * Forgets the least recently seen jobs past `maxJobs`. Events a forgotten job held go out now, in
   * order, as when their wait is given up on: forgetting them would lose them for good (one publish
   * reaching more than `maxJobs` jobs, a cascade, forgets every job seen before it within an instant).
   */
  private forgetOldest(): E[] {
    const out: E[] = [];
    while (this.jobs.size > this.maxJobs) {
      const oldest = this.jobs.keys().next().value as string;
      const state = this.jobs.get(oldest)!;
      if (state.held) out.push(...[...state.held.entries()].sort(([a], [b]) => a - b).map(([, held]) => held.event));
      this.waiting.delete(state);
      this.jobs.delete(oldest);
    }
    return out;
  }
}

function addMissed(state: JobState<unknown>, from: number, to: number): void {
  const missed = (state.missed ??= []);
  missed.push([from, to]);
  if (missed.length > MAX_MISSED) missed.shift();
}

/** Whether `sequence` was missed (never emitted): it is then taken out of its range. */
function takeMissed(state: JobState<unknown>, sequence: number): boolean {
  const missed = state.missed;
  const i = missed?.findIndex(([from, to]) => from <= sequence && sequence <= to) ?? -1;
  if (i < 0) return false;
  const [from, to] = missed![i]!;
  const rest: Array<[number, number]> = [];
  if (from < sequence) rest.push([from, sequence - 1]);
  if (sequence < to) rest.push([sequence + 1, to]);
  missed!.splice(i, 1, ...rest);
  if (missed!.length === 0) state.missed = null;
  return true;
}
