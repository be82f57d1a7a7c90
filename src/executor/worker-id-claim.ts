import type { WorkerRowBeat } from '../resources/worker.repository.js';

/**
 * One live process per WORKER_ID. Two workers registered under one id (a WORKER_ID set in a deployment
 * that runs several replicas) would each overwrite the other's row: the leader would take one's running
 * jobs for another's restart and fail them (WORKER_LOST, OUTCOME_LOST), and run their retries while the
 * first handlers still ran. A worker therefore looks at the row of its id before it registers:
 * - no row, or one stopped or lost: the id is free;
 * - a row written where this process can ask the kernel about its pid (the same kernel boot and pid
 *   namespace, see `pid_scope`) whose process is gone, or is this very pid (a restart after a crash):
 *   free at once. Two containers sharing a host name are each pid 1, so the host name alone says nothing;
 * - otherwise the row's heartbeat is watched: if it goes on, another process holds the id and boot stops
 *   (a draining one is waited for, as long as a drain lasts); if it stays still for the watch, the id is
 *   taken over. The watch lasts at least the holder's lease and a beat more: a holder whose beats do not
 *   land (a GC pause, a short freeze, a slow database) still runs its jobs until its lease lapses and it
 *   fences itself; taken over sooner, its jobs would be failed and run again beside it.
 * The registration then takes the row only if it is still the one judged (its holder's token), and the
 * holder's later beats are refused (`boot_token`): a holder that comes back stops.
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

export type { WorkerRowBeat };

export interface ClaimOptions {
  heartbeatIntervalMs: number;
  /** The holder's lease (workerLeaseMs): the shortest watch. */
  leaseMs: number;
  /** The longest a draining holder is waited for (its drain: SHUTDOWN_GRACE_MS and a margin). */
  drainWaitMs: number;
  isAlive: (pid: number) => boolean;
  sleep?: (ms: number) => Promise<void>;
}

const LIVE = new Set(['active', 'draining']);

/** Whether this process may ask the kernel about the pid of a row (see `pid_scope`). Pure. */
export function pidIsAskable(row: Pick<WorkerRowBeat, 'host' | 'pidScope'>, self: { host: string; pidScope: string }): boolean {
  if (row.pidScope === null) return row.host === self.host; // a row of an earlier version: its host name is all there is
  if (self.pidScope) return row.pidScope === self.pidScope;
  return row.pidScope === '' && row.host === self.host;
}

/**
 * Resolves when this process may register under `self.id`, with the token of the row's holder judged
 * gone (null: none), which the registration may replace; throws WorkerIdInUseError when another holds it.
 */
export async function awaitWorkerIdFree(
  self: { id: string; host: string; pid: number; pidScope: string },
  read: () => Promise<WorkerRowBeat | null>,
  { heartbeatIntervalMs, leaseMs, drainWaitMs, isAlive, sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)) }: ClaimOptions,
): Promise<string | null> {
  const first = await read();
  if (!first || !LIVE.has(first.status)) return first?.bootToken ?? null;
  if (pidIsAskable(first, self) && (first.pid === self.pid || !isAlive(first.pid))) return first.bootToken;
  const pollMs = Math.max(50, Math.floor(heartbeatIntervalMs / 4));
  const watchMs = Math.max(WATCH_BEATS * heartbeatIntervalMs, leaseMs + heartbeatIntervalMs);
  let last = first.beat;
  let lastBeatAt = 0;
  for (let waited = pollMs; ; waited += pollMs) {
    await sleep(pollMs);
    const now = await read();
    if (!now || !LIVE.has(now.status)) return now?.bootToken ?? null;
    if (now.beat !== last) {
      if (now.status === 'active') throw new WorkerIdInUseError(self.id, now.host, now.pid);
      last = now.beat;
      lastBeatAt = waited;
    }
    // Still for a whole watch: its process is gone (killed, or frozen past its lease or its drain).
    if (waited - lastBeatAt >= watchMs) return now.bootToken;
    // Beating on as it drains for longer than a drain lasts (never sooner than a silent holder's watch ends).
    if (waited >= Math.max(drainWaitMs, watchMs)) throw new WorkerIdInUseError(self.id, now.host, now.pid);
  }
}
