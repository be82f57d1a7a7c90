import { describe, expect, it } from '@jest/globals';
import { awaitWorkerIdFree, pidIsAskable, WorkerIdInUseError, type WorkerRowBeat } from './worker-id-claim.js';

const SCOPE = 'boot-a pid:[4026531836]';
const self = { id: 'w1', host: 'h1', pid: 100, pidScope: SCOPE };
const noSleep = async () => undefined;
const options = (isAlive: (pid: number) => boolean, leaseMs = 2000) => ({ heartbeatIntervalMs: 1000, leaseMs, drainWaitMs: 5000, isAlive, sleep: noSleep });
const row = (status: string, host: string, pid: number, beat: string, more: Partial<WorkerRowBeat> = {}): WorkerRowBeat => ({
  status,
  host,
  pid,
  beat,
  bootToken: `token-${host}-${pid}`,
  pidScope: 'boot-a pid:[4026532000]',
  ...more,
});

/** Answers the rows in turn (the last one from then on). */
function rows(...answers: Array<WorkerRowBeat | null>) {
  let i = 0;
  const read = async () => answers[Math.min(i++, answers.length - 1)]!;
  return { read, reads: () => i };
}

describe('one live process per WORKER_ID', () => {
  it('takes a free id at once: no row, a stopped or lost one, or a process gone where its pid can be asked about (a restart after a crash)', async () => {
    const free: Array<[WorkerRowBeat | null, boolean]> = [
      [null, false],
      [row('stopped', 'h2', 1, 'a'), false],
      [row('lost', 'h2', 1, 'a'), false],
      [row('active', 'h1', 7, 'a', { pidScope: SCOPE }), false], // this kernel and pid namespace, its pid gone
      [row('active', 'h9', 100, 'a', { pidScope: SCOPE }), true], // this very pid there: the process before it
      [row('active', 'h1', 7, 'a', { pidScope: null }), false], // a row of an earlier version: its host decides
    ];
    for (const [found, alive] of free) {
      const { read, reads } = rows(found);
      await expect(awaitWorkerIdFree(self, read, options(() => alive))).resolves.toBe(found?.bootToken ?? null);
      expect(reads()).toBe(1);
    }
  });

  it('stops boot when the holder’s heartbeat goes on: another host, or a live process of this one', async () => {
    const beating = (host: string, pidScope: string) =>
      rows(row('active', host, 1, 'a', { pidScope }), row('active', host, 1, 'a', { pidScope }), row('active', host, 1, 'b', { pidScope }));
    await expect(awaitWorkerIdFree(self, beating('h2', 'boot-b pid:[1]').read, options(() => false))).rejects.toThrow(WorkerIdInUseError);
    await expect(awaitWorkerIdFree(self, beating('h1', SCOPE).read, options(() => true))).rejects.toThrow(/WORKER_ID w1 is in use by a live worker \(pid 1 on h1\)/);
  });

  it('does not ask the kernel about a pid of another pid namespace: two containers of one host name, each node pid 1', async () => {
    const container = { ...self, pid: 1 };
    const other = (beat: string) => row('active', 'h1', 1, beat, { pidScope: 'boot-a pid:[4026532999]' });
    const beating = rows(other('a'), other('a'), other('b'));
    await expect(awaitWorkerIdFree(container, beating.read, options(() => false))).rejects.toThrow(WorkerIdInUseError);
    const still = rows(other('a'));
    await expect(awaitWorkerIdFree(container, still.read, options(() => false))).resolves.toBe('token-h1-1');
    expect(still.reads()).toBeGreaterThan(2);
  });

  it('watches a silent holder for its whole lease and a beat more: until then it still runs its jobs', async () => {
    let slept = 0;
    const sleep = async (ms: number) => void (slept += ms);
    const { read } = rows(row('active', 'h2', 1, 'a'));
    await expect(awaitWorkerIdFree(self, read, { ...options(() => true, 11_250), sleep })).resolves.toBe('token-h2-1');
    expect(slept).toBeGreaterThanOrEqual(12_250);
    expect(slept).toBeLessThan(12_250 + 1000);
    slept = 0;
    // A lease shorter than two and a half beats: the two and a half beats.
    await expect(awaitWorkerIdFree(self, rows(row('active', 'h2', 1, 'a')).read, { ...options(() => true, 500), sleep })).resolves.toBe('token-h2-1');
    expect(slept).toBe(2500);
  });

  it('waits for a draining holder to stop, and goes on once it has', async () => {
    const { read } = rows(row('draining', 'h2', 1, 'a'), row('draining', 'h2', 1, 'b'), row('draining', 'h2', 1, 'c'), row('stopped', 'h2', 1, 'c'));
    await expect(awaitWorkerIdFree(self, read, options(() => true))).resolves.toBe('token-h2-1');
  });

  it('takes the id over from a draining holder whose heartbeat stopped (killed in its drain), and refuses one that drains past the bound', async () => {
    const dead = rows(row('draining', 'h2', 1, 'a'), row('draining', 'h2', 1, 'b'));
    await expect(awaitWorkerIdFree(self, dead.read, options(() => true))).resolves.toBe('token-h2-1');
    let beat = 0;
    const endless = async () => row('draining', 'h2', 1, String(beat++));
    await expect(awaitWorkerIdFree(self, endless, options(() => true))).rejects.toThrow(WorkerIdInUseError);
  });
});

describe('whether a row’s pid can be asked about', () => {
  it('only in the same kernel boot and pid namespace; by host name for rows of earlier versions or where /proc tells nothing', () => {
    expect(pidIsAskable({ host: 'x', pidScope: SCOPE }, self)).toBe(true);
    expect(pidIsAskable({ host: 'h1', pidScope: 'boot-a pid:[9]' }, self)).toBe(false);
    expect(pidIsAskable({ host: 'h1', pidScope: 'boot-b pid:[4026531836]' }, self)).toBe(false); // before a reboot
    expect(pidIsAskable({ host: 'h1', pidScope: null }, self)).toBe(true);
    expect(pidIsAskable({ host: 'h2', pidScope: null }, self)).toBe(false);
    expect(pidIsAskable({ host: 'h1', pidScope: '' }, { host: 'h1', pidScope: '' })).toBe(true);
    expect(pidIsAskable({ host: 'h1', pidScope: SCOPE }, { host: 'h1', pidScope: '' })).toBe(false);
    expect(pidIsAskable({ host: 'h1', pidScope: '' }, self)).toBe(false);
  });
});
