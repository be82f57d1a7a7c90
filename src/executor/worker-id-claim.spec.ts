import { describe, expect, it } from '@jest/globals';
import { awaitWorkerIdFree, WorkerIdInUseError, type WorkerRowBeat } from './worker-id-claim.js';

const self = { id: 'w1', host: 'h1', pid: 100 };
const noSleep = async () => undefined;
const options = (isAlive: (pid: number) => boolean) => ({ heartbeatIntervalMs: 1000, drainWaitMs: 5000, isAlive, sleep: noSleep });

/** Answers the rows in turn (the last one from then on). */
function rows(...answers: Array<WorkerRowBeat | null>) {
  let i = 0;
  const read = async () => answers[Math.min(i++, answers.length - 1)]!;
  return { read, reads: () => i };
}

describe('one live process per WORKER_ID', () => {
  it('takes a free id at once: no row, a stopped or lost one, or this host’s process gone (a restart after a crash)', async () => {
    for (const row of [null, { status: 'stopped', host: 'h2', pid: 1, beat: 'a' }, { status: 'lost', host: 'h2', pid: 1, beat: 'a' }, { status: 'active', host: 'h1', pid: 7, beat: 'a' }]) {
      const { read, reads } = rows(row);
      await expect(awaitWorkerIdFree(self, read, options(() => false))).resolves.toBeUndefined();
      expect(reads()).toBe(1);
    }
  });

  it('stops boot when the holder’s heartbeat goes on: another host, or a live process of this one', async () => {
    const beating = (host: string) => rows({ status: 'active', host, pid: 1, beat: 'a' }, { status: 'active', host, pid: 1, beat: 'a' }, { status: 'active', host, pid: 1, beat: 'b' });
    await expect(awaitWorkerIdFree(self, beating('h2').read, options(() => false))).rejects.toThrow(WorkerIdInUseError);
    await expect(awaitWorkerIdFree(self, beating('h1').read, options(() => true))).rejects.toThrow(/WORKER_ID w1 is in use by a live worker \(pid 1 on h1\)/);
  });

  it('takes the id over when the holder’s heartbeat stays still for the watch (its process is gone)', async () => {
    const { read, reads } = rows({ status: 'active', host: 'h2', pid: 1, beat: 'a' });
    await expect(awaitWorkerIdFree(self, read, options(() => true))).resolves.toBeUndefined();
    expect(reads()).toBeGreaterThan(2);
  });

  it('waits for a draining holder to stop, and goes on once it has', async () => {
    const { read } = rows(
      { status: 'draining', host: 'h2', pid: 1, beat: 'a' },
      { status: 'draining', host: 'h2', pid: 1, beat: 'b' },
      { status: 'draining', host: 'h2', pid: 1, beat: 'c' },
      { status: 'stopped', host: 'h2', pid: 1, beat: 'c' },
    );
    await expect(awaitWorkerIdFree(self, read, options(() => true))).resolves.toBeUndefined();
  });

  it('takes the id over from a draining holder whose heartbeat stopped (killed in its drain), and refuses one that drains past the bound', async () => {
    const dead = rows({ status: 'draining', host: 'h2', pid: 1, beat: 'a' }, { status: 'draining', host: 'h2', pid: 1, beat: 'b' });
    await expect(awaitWorkerIdFree(self, dead.read, options(() => true))).resolves.toBeUndefined();
    let beat = 0;
    const endless = async () => ({ status: 'draining', host: 'h2', pid: 1, beat: String(beat++) });
    await expect(awaitWorkerIdFree(self, endless, options(() => true))).rejects.toThrow(WorkerIdInUseError);
  });
});
