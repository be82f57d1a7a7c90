import type { JobUpdate } from '../api/types.js';

type ReplayAnswer = { ok: true; events: JobUpdate[]; more?: boolean } | { ok: false; error: string };

/**
 * The service refuses a replay for a moment when it is busy (too many replays in flight on the
 * process or the connection, too much unsent on the connection, the event log unreadable, over the
 * message budget): each such refusal says to send it "again" or "after its acknowledgement". Those, and an ask that fails (no
 * acknowledgement in time, a dropped connection), are asked again after these pauses; a refusal of
 * the request itself (an unknown job) is not.
 */
export const RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000];
const TRANSIENT = /\bagain\b|after its acknowledgement/i;

export class ReplayStopped extends Error {
  constructor() {
    super('replay stopped');
  }
}

export interface ReplayOptions {
  /** Checked before every ask and after every pause: true once the page that asked is gone. */
  stopped?: () => boolean;
  retryDelays?: readonly number[];
  sleep?: (ms: number) => Promise<void>;
  /** Keeps only the latest `keep` events read (all of them by default): a job may have millions. */
  keep?: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Asks for pages from `afterSequence` on while the answer says there are more; a page refused for a
 * moment is asked again (RETRY_DELAYS_MS) without losing the pages already read. Throws
 * ReplayStopped once `stopped()` says so, and the last refusal when the retries are used up.
 */
export async function replayPages(
  ask: (afterSequence: number) => Promise<unknown>,
  afterSequence: number,
  options: ReplayOptions = {},
): Promise<JobUpdate[]> {
  const { stopped = () => false, retryDelays = RETRY_DELAYS_MS, sleep = realSleep, keep = Infinity } = options;
  let events: JobUpdate[] = [];
  let after = afterSequence;
  let tries = 0;
  for (;;) {
    if (stopped()) throw new ReplayStopped();
    let answer: ReplayAnswer;
    try {
      answer = (await ask(after)) as ReplayAnswer;
      if (!answer.ok) throw Object.assign(new Error(answer.error), { refused: true });
    } catch (error) {
      const refusal = (error as { refused?: boolean }).refused === true;
      if ((refusal && !TRANSIENT.test((error as Error).message)) || tries >= retryDelays.length) throw error;
      await sleep(retryDelays[tries]!);
      tries += 1;
      continue;
    }
    tries = 0;
    events.push(...answer.events);
    if (events.length > keep) events = events.slice(-keep);
    const last = answer.events[answer.events.length - 1]?.data.sequence;
    if (!answer.more || last === undefined || last <= after) return events;
    after = last;
  }
}

/** The highest sequence among `events`, or `floor`: a loop, as spreading 100,000 numbers into Math.max overflows the stack. */
export function highestSequence(floor: number, events: readonly JobUpdate[]): number {
  let highest = floor;
  for (const event of events) if (event.data.sequence > highest) highest = event.data.sequence;
  return highest;
}
