import { describe, expect, it } from '@jest/globals';
import { Metrics } from '../metrics/metrics.js';
import { ScheduleFiring } from './schedule-firing.js';

describe('ScheduleFiring.handleDue', () => {
  it('handles at most about 1,000 due ticks in one transaction, all schedules together, each schedule at least one', async () => {
    const now = Date.now();
    const hourBehind = (i: number) => ({
      id: `s${i}`, name: `every-second-${i}`, cron: '* * * * * *', timezone: 'UTC', startAt: null, endAt: null,
      nextFireAt: new Date(now - 3_600_000), catchUp: 'all', overlapPolicy: 'allow', paused: false, pausedAt: null, resumedAt: null,
      lastFireAt: null, lastJobId: null,
    });
    const claimed = Array.from({ length: 250 }, (_, i) => hourBehind(i));
    const updates: Array<{ id: string; fired: number; skipped: number }> = [];
    const schedules = {
      transaction: async (work: (tx: unknown) => Promise<void>) => work({}),
      claimDue: async () => ({ schedules: claimed, transactionStart: new Date(now) }),
      recordFiresMany: async (rows: typeof updates) => void updates.push(...rows),
    };
    let n = 0;
    const template = { draftFor: (s: { id: string }, tick: Date) => ({ id: `${s.id}-${(n += 1)}`, scheduledFor: tick }) };
    const jobs = {
      unfinishedOf: async () => new Map(),
      insert: async (drafts: Array<{ id: string }>) => ({ jobs: drafts.map((d) => ({ id: d.id })) }),
      committed: () => undefined,
      announce: () => undefined,
    };
    const firing = new ScheduleFiring(schedules as never, template as never, jobs as never, new Metrics());
    await firing.handleDue(250, new Date(now - 10_000));
    const ticks = updates.reduce((sum, u) => sum + u.fired + u.skipped, 0);
    expect(updates).toHaveLength(250);
    expect(updates.every((u) => u.fired + u.skipped >= 1)).toBe(true);
    expect(ticks).toBeLessThanOrEqual(1000 + 250);
  });
});
