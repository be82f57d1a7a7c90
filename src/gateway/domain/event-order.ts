/**
 * Keeps each job's events in sequence order (DESIGN §7) although they reach an API instance from
 * several processes: an event that arrives ahead of a missing one waits (at most `holdMs`) for it.
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
}

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
      state = { last: event.sequence - 1, held: null }; // first sight of this job: take it as it comes
    }
    this.jobs.set(event.jobId, state);
    this.forgetOldest();
    if (event.sequence <= state.last) return []; // a duplicate
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
      state.last = oldest - 1; // skip the gap
    }
    if (held.size === 0) {
      state.held = null;
      this.waiting.delete(state);
    }
    return out;
  }

  private forgetOldest(): void {
    while (this.jobs.size > this.maxJobs) {
      const oldest = this.jobs.keys().next().value as string;
      this.waiting.delete(this.jobs.get(oldest)!);
      this.jobs.delete(oldest);
    }
  }
}
