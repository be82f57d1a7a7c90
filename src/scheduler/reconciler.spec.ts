import { describe, expect, it } from '@jest/globals';
import { Reconciler } from './reconciler.js';

/** A reconciler over stubs: each part records the steps it ran; `fail` names the steps that throw. */
function reconcilerWith(fail: ReadonlySet<string>, leading: () => boolean = () => true) {
  const ran: string[] = [];
  const step = (name: string, value: unknown = undefined) => async () => {
    ran.push(name);
    if (fail.has(name)) throw new Error(`${name} failed`);
    return value;
  };
  const leader = { epoch: () => 1, isLeader: leading };
  const tasks = { active: () => true, track: () => undefined, relinquishedOn: () => false };
  const reaper = {
    reapSilentWorkers: step('reapSilentWorkers', false),
    reapOrphans: step('reapOrphans', 0),
    reapUnexecuted: step('reapUnexecuted', 0),
    reconcilePlacements: step('reconcilePlacements', { takenBack: 0, passOver: [] }),
    releaseStaleCancels: step('releaseStaleCancels', 0),
  };
  const rooms = { refresh: step('refresh'), liveIds: () => new Set(), passOver: () => undefined, markAllStale: () => undefined, observe: () => ran.push('observe'), ledger: { stale: false } };
  const due = { promoteDue: step('promoteDue') };
  const flow = { sweep: step('flowSweep'), regatedTypes: async () => new Set() };
  const pass = { run: step('pass') };
  const statistics = { refreshGrown: async () => [] };
  const reconciler = new Reconciler(leader as never, tasks as never, reaper as never, rooms as never, due as never, flow as never, pass as never, statistics as never);
  return { sweep: () => (reconciler as unknown as { sweep(): Promise<void> }).sweep(), ran, rooms };
}

describe('Reconciler sweep', () => {
  it('goes on with the steps that need only PostgreSQL when handing placements over fails (Redis down)', async () => {
    const { sweep, ran, rooms } = reconcilerWith(new Set(['reconcilePlacements']));
    await sweep();
    expect(ran).toEqual(['reapSilentWorkers', 'reapOrphans', 'reapUnexecuted', 'refresh', 'flowSweep', 'reconcilePlacements', 'releaseStaleCancels', 'promoteDue', 'pass', 'observe']);
    expect(rooms.ledger.stale).toBe(true); // the pass rebuilt the ledger
  });

  it('judges no placement on a failed read of the workers, and goes on with the rest', async () => {
    const { sweep, ran } = reconcilerWith(new Set(['refresh']));
    await sweep();
    expect(ran).not.toContain('reconcilePlacements');
    expect(ran).toEqual(expect.arrayContaining(['releaseStaleCancels', 'promoteDue', 'pass']));
  });

  it.each(['reapSilentWorkers', 'reapOrphans'])('reaps the rest of the lost work when %s fails (a failure that cannot be stored)', async (failing) => {
    const { sweep, ran } = reconcilerWith(new Set([failing]));
    await sweep();
    expect(ran).toEqual(expect.arrayContaining(['reapOrphans', 'reapUnexecuted']));
  });

  it('publishes no worker gauges when leadership ended during its pass (the step-down dropped them)', async () => {
    let leading = true;
    const { sweep, ran } = reconcilerWith(new Set(), () => leading);
    leading = false; // as if the lease was lost while the sweep was under way
    await sweep();
    expect(ran).toContain('pass');
    expect(ran).not.toContain('observe');
  });
});
