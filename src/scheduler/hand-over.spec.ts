import { describe, expect, it } from '@jest/globals';
import { LeadershipLostError } from '../resources/placements.service.js';
import { AllocationLedger } from '../resources/domain/allocation-ledger.js';
import { HandOver } from './hand-over.js';

const job = (id: string) => ({ id, type: 'noop', cpuUnits: 1, memoryMb: 128, attempts: 1 });
const ready = [
  { id: 'a', type: 'noop', cpuUnits: 1, memoryMb: 128, concurrencyKey: null },
  { id: 'b', type: 'noop', cpuUnits: 1, memoryMb: 128, concurrencyKey: null },
];

/** A hand-over to this process's worker where only `a` of [a, b] started, and the epoch check answers `epochCheck`. */
function handOverWith(epochCheck: () => Promise<boolean>) {
  const handedOver: string[] = [];
  const lifecycle = { placeAndStart: async () => [{ job: job('a'), hasDependencies: false }] };
  const placements = { isCurrentEpoch: epochCheck, place: async () => [] };
  const dispatcher = { runsHere: () => true, handOver: (_: string, started: Array<{ job: { id: string } }>) => handedOver.push(...started.map((s) => s.job.id)), dispatch: async () => undefined };
  const rooms = { ledger: new AllocationLedger((type, key) => `${type}\u0000${key}`), markWorkersStale: () => undefined };
  const flow = { recordStarts: () => undefined };
  const handOver = new HandOver(lifecycle as never, placements as never, dispatcher as never, rooms as never, flow as never);
  return { handOver, handedOver, rooms };
}

describe('HandOver to a worker of this process', () => {
  it('hands over what started before checking the epoch for what did not', async () => {
    let answer!: (current: boolean) => void;
    const { handOver, handedOver, rooms } = handOverWith(() => new Promise((resolve) => (answer = resolve)));
    const carried = handOver.carryOut([{ jobId: 'a', workerId: 'w1' }, { jobId: 'b', workerId: 'w1' }], ready as never, 7);
    await new Promise((resolve) => setImmediate(resolve));
    expect(handedOver).toEqual(['a']);
    expect(rooms.ledger.usage().get('w1')).toMatchObject({ slots: 1 });
    answer(true);
    expect(await carried).toEqual(['a']);
  });

  it('still runs what started when the epoch has moved on (it started under the fence)', async () => {
    const { handOver, handedOver } = handOverWith(async () => false);
    await expect(handOver.carryOut([{ jobId: 'a', workerId: 'w1' }, { jobId: 'b', workerId: 'w1' }], ready as never, 7)).rejects.toBeInstanceOf(LeadershipLostError);
    expect(handedOver).toEqual(['a']);
  });
});
