/**
 * How long a retry or a delete of a job cancelled while running waits for its handler to stop (its
 * worker to release the job's resources) before answering 409 JOB_STILL_STOPPING. A handler that
 * honours its signal stops within milliseconds of the cancel: "cancel, then retry" from a script works
 * at once instead of answering 409 now and then. A handler that ignores its signal holds the job for
 * up to its worker's cancel grace period, longer than a request should wait: that one still gets 409.
 */
export const STOPPING_WAIT_MS = 2000;

const FIRST_PAUSE_MS = 10;
const LONGEST_PAUSE_MS = 100;

/**
 * Runs `attempt` until it is not refused for a handler still stopping (`stopping`), pausing between
 * tries (10 ms, doubling, at most 100 ms), for at most `waitMs`; returns the last outcome.
 */
export async function afterStopping<T>(attempt: () => Promise<T>, stopping: (outcome: T) => boolean, waitMs = STOPPING_WAIT_MS): Promise<T> {
  const deadline = performance.now() + waitMs;
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    const outcome = await attempt();
    if (!stopping(outcome)) return outcome;
    const left = deadline - performance.now();
    if (left <= 0) return outcome;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
  }
}
