import { describe, expect, it } from '@jest/globals';
import { AllocationLedger, usageOf, type Booking } from './allocation-ledger.js';

const pair = (type: string, key: string) => `${type}/${key}`;
const booking = (workerId: string, cpuUnits = 1, memoryMb = 128, type = 't', concurrencyKey: string | null = null, attempt = 1): Booking => ({ workerId, cpuUnits, memoryMb, type, concurrencyKey, attempt });

describe(usageOf.name, () => {
  it('adds up one slot, the cpu units and the memory of each booking per worker', () => {
    expect(usageOf([booking('a', 2, 256), booking('a', 1, 128), booking('b', 4, 1024)])).toEqual(
      new Map([
        ['a', { slots: 2, cpuUnits: 3, memoryMb: 384 }],
        ['b', { slots: 1, cpuUnits: 4, memoryMb: 1024 }],
      ]),
    );
    expect(usageOf([])).toEqual(new Map());
  });
});

describe(AllocationLedger.name, () => {
  it('books and releases, and says what each worker holds', () => {
    const ledger = new AllocationLedger(pair);
    ledger.book('j1', booking('a', 2, 256));
    ledger.book('j2', booking('a', 1, 128));
    ledger.release('j1');
    ledger.release('unknown');
    expect(ledger.usage()).toEqual(new Map([['a', { slots: 1, cpuUnits: 1, memoryMb: 128 }]]));
  });

  it('counts jobs per type and per (type, key)', () => {
    const ledger = new AllocationLedger(pair);
    ledger.book('j1', booking('a', 1, 1, 't', 'A'));
    ledger.book('j2', booking('b', 1, 1, 't', 'A'));
    ledger.book('j3', booking('b', 1, 1, 'u'));
    const { byType, byKey } = ledger.runningCounts();
    expect(byType).toEqual(new Map([['t', 2], ['u', 1]]));
    expect(byKey).toEqual(new Map([['t/A', 2]]));
  });

  it('keeps the counts current through releases, a booking made again and a rebuild', async () => {
    const ledger = new AllocationLedger(pair);
    ledger.book('j1', booking('a', 1, 1, 't', 'A'));
    ledger.book('j2', booking('a', 1, 1, 't', 'A'));
    ledger.book('j2', booking('b', 1, 1, 'u', 'B')); // the same job booked again counts once, as what it is now
    ledger.release('j1');
    ledger.release('j1');
    expect(ledger.runningCounts()).toEqual({ byType: new Map([['u', 1]]), byKey: new Map([['u/B', 1]]) });
    await ledger.rebuild(async () => {
      ledger.release('j3'); // its completion arrived while the table was read
      return [{ id: 'j3', ...booking('a', 1, 1, 't', 'A') }, { id: 'j4', ...booking('a', 1, 1, 't', null) }];
    });
    expect(ledger.runningCounts()).toEqual({ byType: new Map([['t', 1]]), byKey: new Map() });
    ledger.release('j4');
    expect(ledger.runningCounts()).toEqual({ byType: new Map(), byKey: new Map() });
  });

  it('a rebuild replaces the bookings with the table, less what was released while it read', async () => {
    const ledger = new AllocationLedger(pair);
    ledger.book('old', booking('a'));
    await ledger.rebuild(async () => {
      ledger.release('j2'); // its completion arrived while the table was read
      return [{ id: 'j1', ...booking('a') }, { id: 'j2', ...booking('a') }];
    });
    expect(ledger.stale).toBe(false);
    expect(ledger.usage()).toEqual(new Map([['a', { slots: 1, cpuUnits: 1, memoryMb: 128 }]]));
  });

  it("keeps a later run's booking when the release of an earlier run arrives late, during a rebuild too", async () => {
    const ledger = new AllocationLedger(pair);
    ledger.book('j1', booking('a', 2, 256, 't', 'K', 2)); // run 2 placed after run 1 failed
    ledger.release('j1', 1); // run 1's job_failed, late
    expect(ledger.usage()).toEqual(new Map([['a', { slots: 1, cpuUnits: 2, memoryMb: 256 }]]));
    expect(ledger.runningCounts().byKey).toEqual(new Map([['t/K', 1]]));
    await ledger.rebuild(async () => {
      ledger.release('j1', 1);
      ledger.release('j2', 3); // j2's run 3 ended while the table still showed it
      return [{ id: 'j1', ...booking('a', 2, 256, 't', 'K', 2) }, { id: 'j2', ...booking('a', 1, 128, 't', null, 3) }];
    });
    expect(ledger.usage()).toEqual(new Map([['a', { slots: 1, cpuUnits: 2, memoryMb: 256 }]]));
    ledger.release('j1', 2);
    expect(ledger.usage()).toEqual(new Map());
  });

  it('stays stale when the rebuild fails, keeping what it had', async () => {
    const ledger = new AllocationLedger(pair);
    ledger.book('j1', booking('a'));
    await expect(ledger.rebuild(async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(ledger.stale).toBe(true);
    expect(ledger.usage().get('a')?.slots).toBe(1);
  });
});
