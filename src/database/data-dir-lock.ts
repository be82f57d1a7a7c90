/**
 * The embedded database's claim on DATA_DIR: one process at a time, or two would corrupt its files.
 *
 * The lock is a file (`draconic.pid`) holding its owner's pid, host name, pid namespace and a random
 * token, and its owner touches it every HEARTBEAT_MS from the database's own thread. Whether a lock
 * found at boot is still held is decided by what can be known:
 * - written in this host and pid namespace: by asking the kernel whether that pid lives (a pid
 *   equal to ours there is a restart of this very process: the old one is gone);
 * - written anywhere else (another container sharing the volume, where node is pid 1 in each, or
 *   another machine): by the heartbeat. A lock untouched for STALE_MS is taken over; one touched
 *   while we watched is held, and boot stops.
 * A takeover is checked again SETTLE_MS later, so that of two processes taking over the same stale
 * lock at once only one goes on. The owner's heartbeat checks the token: a lock taken over while its
 * owner was frozen longer than STALE_MS makes the owner stop at its next beat.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const HEARTBEAT_MS = 2_000;
export const STALE_MS = 15_000;

/** Raised when another live process owns DATA_DIR. */
export class DataDirInUseError extends Error {
  constructor(dir: string, owner: string) {
    super(
      `DATA_DIR ${dir} is in use by another draconic process (${owner}); stop it, or give this one another DATA_DIR. ` +
        'Two processes on one embedded database would corrupt it.',
    );
    this.name = 'DataDirInUseError';
  }
}

export interface LockOwner {
  pid: number;
  /** Absent in a lock written by a version that wrote the pid alone. */
  host?: string;
  pidns?: string;
  token?: string;
}

export interface LockTimings {
  staleMs: number;
  pollMs: number;
  settleMs: number;
}

export interface HeldLock {
  file: string;
  token: string;
  /** Removes the file, if it is still this process's. */
  release(): void;
}

/** This process as a lock owner; `pidns` is empty where /proc does not tell it (then the host alone is compared). */
export function selfOwner(token = randomUUID()): Required<LockOwner> {
  let pidns = '';
  try {
    pidns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // not Linux
  }
  return { pid: process.pid, host: hostname(), pidns, token };
}

export function parseOwner(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const value = JSON.parse(trimmed) as Partial<LockOwner>;
    if (typeof value?.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) return undefined;
    return {
      pid: value.pid,
      host: typeof value.host === 'string' ? value.host : '',
      pidns: typeof value.pidns === 'string' ? value.pidns : '',
      token: typeof value.token === 'string' ? value.token : '',
    };
  } catch {
    return undefined;
  }
}

export type LockVerdict = 'stale' | 'held' | 'watch';

/**
 * What a lock found at boot says: `held` (its owner lives), `stale` (it is gone), or `watch` (it cannot
 * be asked: the heartbeat decides).
 */
export function judgeLock(owner: LockOwner | undefined, ageMs: number, self: LockOwner, isAlive: (pid: number) => boolean, staleMs: number): LockVerdict {
  const byPid = owner !== undefined && (owner.host === undefined || (owner.host === self.host && owner.pidns === self.pidns));
  if (owner && byPid) {
    if (owner.pid === self.pid) return 'stale';
    return isAlive(owner.pid) ? 'held' : 'stale';
  }
  return ageMs > staleMs ? 'stale' : 'watch';
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeOwner(owner: LockOwner | undefined): string {
  if (!owner) return 'its lock file is being written';
  return owner.host ? `pid ${owner.pid} on ${owner.host}` : `pid ${owner.pid}`;
}

function readLock(file: string): { text: string; mtimeMs: number } | undefined {
  try {
    const { mtimeMs } = statSync(file);
    return { text: readFileSync(file, 'utf8'), mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Takes DATA_DIR's lock, waiting at most `staleMs` for a lock whose owner cannot be asked. */
export async function acquireDataDirLock(
  dir: string,
  timings: LockTimings = { staleMs: STALE_MS, pollMs: 500, settleMs: 200 },
  onWait: (owner: string) => void = () => undefined,
): Promise<HeldLock> {
  const file = join(dir, 'draconic.pid');
  const self = selfOwner();
  const mine = JSON.stringify(self);
  const held: HeldLock = {
    file,
    token: self.token,
    release: () => {
      if (parseOwner(readLock(file)?.text ?? '')?.token === self.token) rmSync(file, { force: true });
    },
  };
  let watched: { text: string; mtimeMs: number } | undefined;
  for (let round = 0; ; round++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      if (round === 0) return held;
      // Taken over: another process may have judged the same lock stale and removed ours meanwhile.
      await sleep(timings.settleMs);
      const now = readLock(file);
      if (parseOwner(now?.text ?? '')?.token === self.token) return held;
      throw new DataDirInUseError(dir, describeOwner(parseOwner(now?.text ?? '')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const found = readLock(file);
    if (!found) continue;
    const owner = parseOwner(found.text);
    const verdict = judgeLock(owner, Date.now() - found.mtimeMs, self, isAlive, timings.staleMs);
    if (verdict === 'held') throw new DataDirInUseError(dir, describeOwner(owner));
    if (verdict === 'watch') {
      if (watched && (watched.text !== found.text || watched.mtimeMs !== found.mtimeMs)) throw new DataDirInUseError(dir, describeOwner(owner));
      if (!watched) onWait(describeOwner(owner));
      watched = found;
      await sleep(timings.pollMs);
      continue;
    }
    // Stale: removed only if it is still the file judged.
    const again = readLock(file);
    if (again && again.text === found.text && again.mtimeMs === found.mtimeMs) rmSync(file, { force: true });
    watched = undefined;
  }
}

/**
 * The owner's heartbeat: touches the lock every `heartbeatMs`, and calls `onLost` (once) when the lock
 * is gone or holds another token.
 */
export function keepDataDirLock(file: string, token: string, onLost: (why: string) => void, heartbeatMs = HEARTBEAT_MS): () => void {
  const beat = () => {
    let found: { text: string; mtimeMs: number } | undefined;
    try {
      found = readLock(file);
    } catch {
      return; // an unreadable moment (EIO, EMFILE): the next beat tries again
    }
    const owner = parseOwner(found?.text ?? '');
    if (owner?.token !== token) {
      clearInterval(timer);
      onLost(found ? `the DATA_DIR lock ${file} now belongs to ${describeOwner(owner)}` : `the DATA_DIR lock ${file} was removed`);
      return;
    }
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // the next beat tries again
    }
  };
  const timer = setInterval(beat, heartbeatMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
