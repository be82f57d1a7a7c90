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

describe('ScheduleFiring.handleDue on a tick that has its job already', () => {
  // A change of timing made on a clock a little behind the firing's set the cursor back onto tick T,
  // which had fired: its job is still running.
  it.each(['cancel_previous', 'skip'])('under %s, neither supersedes that job nor counts the tick as skipped', async (overlapPolicy) => {
    const now = Date.now();
    const tick = new Date(Math.floor(now / 1000) * 1000); // due, and the only tick due
    const schedule = {
      id: 's1', name: 'every-second', cron: '* * * * * *', timezone: 'UTC', startAt: null, endAt: null,
      nextFireAt: tick, catchUp: 'latest', overlapPolicy, paused: false, pausedAt: null, resumedAt: null,
      lastFireAt: tick, lastJobId: 'job-of-t',
    };
    const updates: Array<{ id: string; fired: number; skipped: number }> = [];
    const superseded: string[] = [];
    const schedules = {
      transaction: async (work: (tx: unknown) => Promise<void>) => work({}),
      claimDue: async () => ({ schedules: [schedule], transactionStart: new Date(now) }),
      recordFiresMany: async (rows: typeof updates) => void updates.push(...rows),
    };
    const template = { draftFor: (_s: unknown, at: Date) => ({ id: `new-${at.getTime()}`, scheduledFor: at }) };
    const jobs = {
      unfinishedOf: async () => new Map([['s1', [{ id: 'job-of-t', scheduledFor: tick }]]]),
      supersede: async (ids: string[]) => (superseded.push(...ids), { jobs: [], events: [] }),
      // The unique (schedule_id, scheduled_for): a draft for T inserts nothing.
      insert: async (drafts: Array<{ id: string; scheduledFor: Date }>) => ({ jobs: drafts.filter((d) => d.scheduledFor.getTime() !== tick.getTime()).map((d) => ({ id: d.id })) }),
      committed: () => undefined,
      announce: () => undefined,
    };
    const firing = new ScheduleFiring(schedules as never, template as never, jobs as never, new Metrics());
    await firing.handleDue(250, new Date(now - 60_000));
    expect(superseded).toEqual([]);
    expect(updates).toEqual([expect.objectContaining({ fired: 0, skipped: 0 })]);
  });
});
