import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDataDirLock, DataDirInUseError, judgeLock, keepDataDirLock, parseOwner, selfOwner } from './data-dir-lock.js';

const fast = { staleMs: 400, pollMs: 50, settleMs: 30 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DATA_DIR lock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'draconic-lock-'));
    file = join(dir, 'draconic.pid');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeOwner = (owner: object, ageMs = 0) => {
    writeFileSync(file, JSON.stringify(owner));
    const at = new Date(Date.now() - ageMs);
    utimesSync(file, at, at);
  };
  /** A process of this namespace that has ended. */
  const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

  it('judges by pid what this kernel and pid namespace wrote, by the heartbeat anything else', () => {
    const self = { pid: 100, host: 'h', bootId: 'boot-1', pidns: 'pid:[1]' };
    const alive = (pid: number) => pid === 7;
    expect(judgeLock({ pid: 7, host: 'h', bootId: 'boot-1', pidns: 'pid:[1]' }, 60_000, self, alive, 1000)).toBe('held');
    expect(judgeLock({ pid: 8, host: 'h', bootId: 'boot-1', pidns: 'pid:[1]' }, 0, self, alive, 1000)).toBe('stale');
    expect(judgeLock({ pid: 100, host: 'h', bootId: 'boot-1', pidns: 'pid:[1]' }, 0, self, alive, 1000)).toBe('stale'); // this very process, restarted
    // Another container on this kernel: node is pid 1 in each, so the pid says nothing; the age, on our clock, does.
    expect(judgeLock({ pid: 100, host: 'other', bootId: 'boot-1', pidns: 'pid:[2]' }, 0, self, alive, 1000)).toBe('watch');
    expect(judgeLock({ pid: 100, host: 'other', bootId: 'boot-1', pidns: 'pid:[2]' }, 1001, self, alive, 1000)).toBe('stale');
    // Another machine, or before a reboot: its clock is not ours, so its age says nothing either.
    expect(judgeLock({ pid: 7, host: 'h', bootId: 'boot-0', pidns: 'pid:[1]' }, 60_000, self, alive, 1000)).toBe('watch');
    expect(judgeLock({ pid: 7, host: 'm', bootId: 'boot-2', pidns: 'pid:[9]' }, -60_000, self, alive, 1000)).toBe('watch');
    // Garbage, or a lock of an older version (a pid alone).
    expect(judgeLock(undefined, 5000, self, alive, 1000)).toBe('watch');
    expect(judgeLock(parseOwner('7'), 0, self, alive, 1000)).toBe('held');
    expect(judgeLock(parseOwner('8'), 0, self, alive, 1000)).toBe('stale');
  });

  it('takes a free DATA_DIR and gives it back', async () => {
    const lock = await acquireDataDirLock(dir, fast);
    const owner = parseOwner(readFileSync(file, 'utf8'));
    expect(owner).toEqual({ ...selfOwner(lock.token) });
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('refuses at once when a live process of this namespace holds it, and takes it over from a dead one', async () => {
    writeOwner({ ...selfOwner('other'), pid: process.ppid });
    await expect(acquireDataDirLock(dir, fast)).rejects.toThrow(DataDirInUseError);
    writeOwner({ ...selfOwner('other'), pid: deadPid() });
    const lock = await acquireDataDirLock(dir, fast);
    expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe(lock.token);
  });

  it('refuses a lock of another container whose heartbeat goes on, even when its pid is ours', async () => {
    writeOwner({ ...selfOwner('container-a'), pidns: 'pid:[4026532000]' });
    const beating = setInterval(() => utimesSync(file, new Date(), new Date()), 20);
    try {
      const waits: string[] = [];
      await expect(acquireDataDirLock(dir, fast, (owner) => waits.push(owner))).rejects.toThrow(/is in use by another draconic process/);
      expect(waits).toHaveLength(1);
      expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe('container-a');
    } finally {
      clearInterval(beating);
    }
  });

  it('takes over a lock of another container whose heartbeat stopped, at once when it is old and after the wait when it is recent', async () => {
    writeOwner({ ...selfOwner('gone'), pidns: 'pid:[4026532000]' }, 60_000);
    let waited = false;
    const first = await acquireDataDirLock(dir, fast, () => (waited = true));
    expect(waited).toBe(false);
    expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe(first.token);
    writeOwner({ ...selfOwner('just-gone'), pidns: 'pid:[4026532000]' });
    const started = Date.now();
    const second = await acquireDataDirLock(dir, fast);
    expect(Date.now() - started).toBeGreaterThanOrEqual(fast.staleMs - 50);
    expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe(second.token);
  });

  it('watches a lock of another machine for a bounded time whatever its clock says, then takes it over', async () => {
    writeOwner({ ...selfOwner('elsewhere'), bootId: 'another-kernel', pidns: 'pid:[4026532000]' }, -3_600_000); // an hour ahead
    const started = Date.now();
    const lock = await acquireDataDirLock(dir, fast);
    expect(Date.now() - started).toBeGreaterThanOrEqual(fast.staleMs - 50);
    expect(Date.now() - started).toBeLessThan(fast.staleMs * 5);
    expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe(lock.token);
  });

  it('lets one of two processes taking over the same stale lock go on', async () => {
    writeOwner({ ...selfOwner('gone'), pidns: 'pid:[4026532000]' }, 60_000);
    const results = await Promise.allSettled([acquireDataDirLock(dir, fast), acquireDataDirLock(dir, fast), acquireDataDirLock(dir, fast)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe((won[0] as PromiseFulfilledResult<{ token: string }>).value.token);
  });

  it("does not remove a lock that another process has taken since", async () => {
    const lock = await acquireDataDirLock(dir, fast);
    writeOwner({ ...selfOwner('successor') });
    lock.release();
    expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe('successor');
  });

  it('keeps the lock fresh, and says so when another process took it over', async () => {
    const lock = await acquireDataDirLock(dir, fast);
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const lost: string[] = [];
    const stop = keepDataDirLock(file, lock.token, (why) => lost.push(why), 20);
    try {
      await sleep(80);
      expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(1000);
      expect(lost).toEqual([]);
      writeOwner({ ...selfOwner('thief'), pidns: 'pid:[4026532000]' });
      await sleep(80);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toContain('now belongs to');
    } finally {
      stop();
    }
  });

  it('writes its lock again when the file was removed, unless another process took the name', async () => {
    const lock = await acquireDataDirLock(dir, fast);
    const lost: string[] = [];
    const stop = keepDataDirLock(file, lock.token, (why) => lost.push(why), 20);
    try {
      rmSync(file);
      await sleep(80);
      expect(parseOwner(readFileSync(file, 'utf8'))?.token).toBe(lock.token);
      expect(lost).toEqual([]);
    } finally {
      stop();
    }
  });
});
