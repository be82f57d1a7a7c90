/**
 * One live process per WORKER_ID. Two workers registered under one id (a WORKER_ID set in a deployment
 * that runs several replicas) would each overwrite the other's row: the leader would take one's running
 * jobs for another's restart and fail them (WORKER_LOST, OUTCOME_LOST), and run their retries while the
 * first handlers still ran. A worker therefore looks at the row of its id before it registers:
 * - no row, or one stopped or lost: the id is free;
 * - a row of this host whose process is gone (a restart after a crash): free at once;
 * - otherwise the row's heartbeat is watched for WATCH_BEATS heartbeat intervals: if it goes on, another
 *   process holds the id and boot stops (a draining one is waited for, as long as a drain lasts); if it
 *   does not, its process is gone and the id is taken over.
 */
export const WATCH_BEATS = 2.5;

/** Raised at boot when another live worker process holds this WORKER_ID. */
export class WorkerIdInUseError extends Error {
  constructor(id: string, host: string, pid: number) {
    super(
      `WORKER_ID ${id} is in use by a live worker (pid ${pid} on ${host}), whose heartbeat goes on: give each worker process ` +
        'its own WORKER_ID, or leave WORKER_ID empty for a generated one. Two processes under one id would fail and run again each other\'s jobs.',
    );
    this.name = 'WorkerIdInUseError';
  }
}

export interface WorkerRowBeat {
  status: string;
  host: string;
  pid: number;
  /** Changes with every heartbeat applied. */
  beat: string;
}

export interface ClaimOptions {
  heartbeatIntervalMs: number;
  /** The longest a draining holder is waited for (its drain: SHUTDOWN_GRACE_MS and a margin). */
  drainWaitMs: number;
  isAlive: (pid: number) => boolean;
  sleep?: (ms: number) => Promise<void>;
}

const LIVE = new Set(['active', 'draining']);

/** Resolves when this process may register under `self.id`; throws WorkerIdInUseError when another holds it. */
export async function awaitWorkerIdFree(
  self: { id: string; host: string; pid: number },
  read: () => Promise<WorkerRowBeat | null>,
  { heartbeatIntervalMs, drainWaitMs, isAlive, sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)) }: ClaimOptions,
): Promise<void> {
  const first = await read();
  if (!first || !LIVE.has(first.status)) return;
  if (first.host === self.host && (first.pid === self.pid || !isAlive(first.pid))) return;
  const pollMs = Math.max(50, Math.floor(heartbeatIntervalMs / 4));
  const watchMs = WATCH_BEATS * heartbeatIntervalMs;
  let last = first.beat;
  let lastBeatAt = 0;
  for (let waited = pollMs; ; waited += pollMs) {
    await sleep(pollMs);
    const now = await read();
    if (!now || !LIVE.has(now.status)) return;
    if (now.beat !== last) {
      if (now.status === 'active') throw new WorkerIdInUseError(self.id, now.host, now.pid);
      last = now.beat;
      lastBeatAt = waited;
    }
    // Still for a whole watch: its process is gone (killed, or frozen past its drain).
    if (waited - lastBeatAt >= watchMs) return;
    if (waited >= drainWaitMs) throw new WorkerIdInUseError(self.id, now.host, now.pid);
  }
}
