import { describe, expect, it } from '@jest/globals';
import { drainedAfter, inReadyOrder, startsAtRelease, type ReleaseMoment } from './released-starts.js';

describe('starting released dependents in the completion that released them', () => {
  const quiet: ReleaseMoment = { leading: true, passBusy: false, drained: true, withoutRules: true };

  it('happens only while leading, with no pass under way, nothing left ready by the last pass and no queue rule', () => {
    expect(startsAtRelease(quiet)).toBe(true);
    expect(startsAtRelease({ ...quiet, leading: false })).toBe(false);
    expect(startsAtRelease({ ...quiet, passBusy: true })).toBe(false);
    expect(startsAtRelease({ ...quiet, drained: false })).toBe(false);
    expect(startsAtRelease({ ...quiet, withoutRules: false })).toBe(false);
  });

  it.each([
    [0, 0, 100, true], // an empty ready queue
    [3, 3, 100, true], // all of it placed
    [3, 2, 100, false], // one left ready (no room)
    [100, 100, 100, false], // a full window: more may be queued behind it
  ])('a pass that read %i jobs and placed %i (window %i) leaves the queue drained: %s', (read, placed, window, drained) => {
    expect(drainedAfter(read, placed, window)).toBe(drained);
  });

  it('orders released jobs as the ready queue does: priority, then age, then id', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const jobs = [
      { id: 'b', priority: 'normal', createdAt: at(1) },
      { id: 'a', priority: 'normal', createdAt: at(1) },
      { id: 'old', priority: 'normal', createdAt: at(0) },
      { id: 'low', priority: 'low', createdAt: at(0) },
      { id: 'crit', priority: 'critical', createdAt: at(5) },
      { id: 'high', priority: 'high', createdAt: at(9) },
    ];
    expect(inReadyOrder(jobs).map((j) => j.id)).toEqual(['crit', 'high', 'old', 'a', 'b', 'low']);
    expect(jobs[0]!.id).toBe('b'); // the input is left as it was
  });
});
