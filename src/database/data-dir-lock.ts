/**
 * The embedded database's claim on DATA_DIR: one process at a time, or two would corrupt its files.
 *
 * The lock is a file (`draconic.pid`) holding its owner's pid, host name, kernel boot id, pid namespace
 * and a random token; its owner touches it every HEARTBEAT_MS from the database's own thread. Whether a
 * lock found at boot is still held is decided by what can be known:
 * - written under this kernel and in this pid namespace: by asking the kernel whether that pid lives (a
 *   pid equal to ours there is a restart of this very process: the old one is gone);
 * - written under this kernel in another pid namespace (another container sharing the volume, where
 *   node is pid 1 in each): by the heartbeat, the file's age read on the same clock;
 * - written anywhere else (another machine, or before a reboot): by watching it for STALE_MS of this
 *   process's own clock, since another machine's clock may be skewed.
 * A lock touched while watched is held, and boot stops; one untouched for STALE_MS is taken over.
 *
 * Every step is atomic on a POSIX file system: a lock is created complete (written to a file of its
 * own, then hard-linked to the name, which fails if the name exists), and a stale one is taken away by
 * renaming it, which only one process can do; the renamed file is compared with the one judged, and put
 * back if it is not. A takeover is checked again SETTLE_MS later. The owner's heartbeat checks the
 * token: a lock taken over while its owner was frozen longer than STALE_MS makes the owner stop at its
 * next beat, and a lock file removed by hand is written again.
 */
import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pidPlace, processIsAlive } from '../common/process-alive.js';
import { performance } from 'node:perf_hooks';

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
  bootId?: string;
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

/** This process as a lock owner; `bootId` and `pidns` are empty where /proc does not tell them. */
export function selfOwner(token: string = randomUUID()): Required<LockOwner> {
  return { pid: process.pid, host: hostname(), ...pidPlace(), token };
}

export function parseOwner(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const value = JSON.parse(trimmed) as Partial<LockOwner>;
    if (typeof value?.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) return undefined;
    const text = (field: unknown) => (typeof field === 'string' ? field : '');
    return { pid: value.pid, host: text(value.host), bootId: text(value.bootId), pidns: text(value.pidns), token: text(value.token) };
  } catch {
    return undefined;
  }
}

export type LockVerdict = 'stale' | 'held' | 'watch';

/**
 * What a lock found at boot says: `held` (its owner lives), `stale` (it is gone), or `watch` (it cannot
 * be asked: whether it is touched while watched decides). `ageMs` counts only for a lock written under
 * this kernel, whose clock is ours.
 */
export function judgeLock(owner: LockOwner | undefined, ageMs: number, self: LockOwner, isAlive: (pid: number) => boolean, staleMs: number): LockVerdict {
  if (!owner) return 'watch';
  const legacy = owner.host === undefined;
  const sameKernel = Boolean(self.bootId) && owner.bootId === self.bootId;
  const askable = legacy || (sameKernel && owner.pidns === self.pidns) || (!self.bootId && owner.host === self.host && owner.pidns === self.pidns);
  if (askable) {
    if (owner.pid === self.pid) return 'stale';
    return isAlive(owner.pid) ? 'held' : 'stale';
  }
  if (sameKernel && ageMs > staleMs) return 'stale';
  return 'watch';
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

/** Creates the lock file complete, or fails with EEXIST when the name is taken. */
function createLock(file: string, text: string, token: string): void {
  const temporary = `${file}.${token}.new`;
  writeFileSync(temporary, text);
  try {
    linkSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** Takes away the lock judged stale, if it is still that one (another process may have got there first). */
function removeStale(file: string, judged: { text: string; mtimeMs: number }, token: string): void {
  const aside = `${file}.${token}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readLock(aside);
  if (moved && (moved.text !== judged.text || moved.mtimeMs !== judged.mtimeMs)) {
    // A newer lock was written between the judgement and the rename: put it back (unless yet another
    // one has been written meanwhile), and judge again.
    try {
      linkSync(aside, file);
    } catch {
      // the name is taken again: that one is judged next
    }
  }
  rmSync(aside, { force: true });
}

/** Takes DATA_DIR's lock, watching a lock whose owner cannot be asked for at most `staleMs`. */
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
  let watched: { text: string; mtimeMs: number; since: number } | undefined;
  for (let round = 0; ; round++) {
    try {
      createLock(file, mine, self.token);
      if (round === 0) return held;
      // Taken over: make sure no other process judged the same lock stale and replaced ours meanwhile.
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
    let verdict = judgeLock(owner, Date.now() - found.mtimeMs, self, processIsAlive, timings.staleMs);
    if (verdict === 'watch') {
      if (watched && (watched.text !== found.text || watched.mtimeMs !== found.mtimeMs)) verdict = 'held';
      else if (watched && performance.now() - watched.since > timings.staleMs) verdict = 'stale';
    }
    if (verdict === 'held') throw new DataDirInUseError(dir, describeOwner(owner));
    if (verdict === 'watch') {
      if (!watched) {
        onWait(describeOwner(owner));
        watched = { ...found, since: performance.now() };
      }
      await sleep(timings.pollMs);
      continue;
    }
    removeStale(file, found, self.token);
    watched = undefined;
  }
}

/**
 * The owner's heartbeat: touches the lock every `heartbeatMs`, and calls `onLost` (once) when the lock
 * is gone or holds another token.
 */
export function keepDataDirLock(file: string, token: string, onLost: (why: string) => void, heartbeatMs = HEARTBEAT_MS): () => void {
  const lost = (why: string) => {
    clearInterval(timer);
    onLost(why);
  };
  const beat = () => {
    let found: { text: string; mtimeMs: number } | undefined;
    try {
      found = readLock(file);
    } catch {
      return; // an unreadable moment (EIO, EMFILE): the next beat tries again
    }
    if (!found) {
      // Removed (by hand, or set aside by a process that judged it a moment too late): written again,
      // unless another process has taken the name meanwhile.
      try {
        createLock(file, JSON.stringify(selfOwner(token)), token);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return;
        found = readLock(file);
      }
    }
    const owner = parseOwner(found?.text ?? '');
    if (owner?.token !== token) {
      lost(`the DATA_DIR lock ${file} now belongs to ${describeOwner(owner)}`);
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
