/**
 * Collects items and hands them over in batches: once per animation frame while the tab shows, so
 * thousands of events a second cost one render per frame. Browsers pause animation frames in a
 * hidden tab, and a frame asked for just before the tab was hidden may never run: every batch also
 * gets a timer, and whichever of the two fires first delivers it, so a background tab still drains
 * its queue every quarter second instead of holding every event until it is shown again. Pure: the
 * frame, timer and visibility functions are passed in.
 */
export interface BatchClock {
  requestFrame(run: () => void): void;
  setTimer(run: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  hidden(): boolean;
}

/** The longest a batch waits when no animation frame comes. */
export const FALLBACK_MS = 250;

export function createBatcher<T>(deliver: (batch: T[]) => void, clock: BatchClock): (item: T) => void {
  let queue: T[] = [];
  let pending = false;

  function schedule(): void {
    pending = true;
    let done = false;
    let timer: unknown = null;
    const run = () => {
      if (done) return;
      done = true;
      if (timer !== null) clock.clearTimer(timer);
      pending = false;
      const batch = queue;
      queue = [];
      deliver(batch);
    };
    timer = clock.setTimer(run, FALLBACK_MS);
    if (!clock.hidden()) clock.requestFrame(run);
  }

  return (item: T) => {
    queue.push(item);
    if (!pending) schedule();
  };
}
