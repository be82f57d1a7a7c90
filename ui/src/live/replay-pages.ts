import type { JobUpdate } from '../api/types.js';

type ReplayAnswer = { ok: true; events: JobUpdate[]; more?: boolean } | { ok: false; error: string };

/** Asks for pages from `afterSequence` on while the answer says there are more. */
export async function replayPages(ask: (afterSequence: number) => Promise<unknown>, afterSequence: number): Promise<JobUpdate[]> {
  const events: JobUpdate[] = [];
  let after = afterSequence;
  for (;;) {
    const answer = (await ask(after)) as ReplayAnswer;
    if (!answer.ok) throw new Error(answer.error);
    events.push(...answer.events);
    const last = answer.events[answer.events.length - 1]?.data.sequence;
    if (!answer.more || last === undefined || last <= after) return events;
    after = last;
  }
}
