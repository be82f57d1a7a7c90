import { describe, expect, it } from '@jest/globals';
import { Metrics } from '../metrics/metrics.js';
import { WorkerRooms } from './worker-rooms.js';

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};
const worker = (slots: number) => ({ id: 'w1', status: 'active', maxConcurrentJobs: slots, maxCpuUnits: slots, maxMemoryMb: 1000 * slots });

describe('WorkerRooms: reading the workers', () => {
  it("a pass during the sweep's read of the workers waits for it instead of planning with the list before", async () => {
    const second = deferred<unknown[]>();
    let reads = 0;
    const resources = { liveWorkers: () => (reads++ === 0 ? Promise.resolve([worker(8)]) : second.promise) };
    const rooms = new WorkerRooms(resources as never, { allocatedJobs: async () => [] } as never, new Metrics());
    await rooms.forPass();
    rooms.markWorkersStale(); // the worker came back with 2 slots
    const sweep = rooms.refresh();
    const pass = rooms.forPass();
    expect(rooms.current()).toBeNull();
    second.resolve([worker(2)]);
    await sweep;
    expect((await pass)[0]!.capacity.slots).toBe(2);
    expect(reads).toBe(2);
  });

  it('reads asked one after the other land in that order, and a failed read leaves the workers stale', async () => {
    const first = deferred<unknown[]>();
    const answers: Array<() => Promise<unknown[]>> = [() => first.promise, () => Promise.resolve([worker(4)]), () => Promise.reject(new Error('connection terminated')), () => Promise.resolve([worker(6)])];
    const resources = { liveWorkers: () => answers.shift()!() };
    const rooms = new WorkerRooms(resources as never, { allocatedJobs: async () => [] } as never, new Metrics());
    const older = rooms.refresh();
    const newer = rooms.refresh();
    first.resolve([worker(8)]);
    await Promise.all([older, newer]);
    expect((await rooms.forPass())[0]!.capacity.slots).toBe(4);
    await expect(rooms.refresh()).rejects.toThrow('connection terminated');
    expect(rooms.current()).toBeNull();
    expect((await rooms.forPass())[0]!.capacity.slots).toBe(6);
  });
});
