import { describe, expect, it } from '@jest/globals';
import { planPlacements, type AdmissionGate, type QueuedJob, type WorkerRoom } from '../../resources/domain/placement.js';
import { FlowGate, NO_RULES, pairKey, PENDING_START_MS, rateLimitedUntil, StartLog, type QueueRules } from './flow-control.js';

const rules = (r: Partial<QueueRules>): QueueRules => ({ ...NO_RULES, ...r });
const worker = (id: string, slots = 10, cpu = 8, mem = 4096): WorkerRoom => ({
  id,
  accepting: true,
  capacity: { slots, cpuUnits: cpu, memoryMb: mem },
  allocated: { slots: 0, cpuUnits: 0, memoryMb: 0 },
});
const job = (id: string, type = 't', key: string | null = null, cpuUnits = 1, starving = false): QueuedJob => ({ id, cpuUnits, memoryMb: 128, starving, type, concurrencyKey: key });

function gateOf(
  byType: Record<string, QueueRules>,
  opts: { runningByType?: Record<string, number>; runningByKey?: Record<string, number>; starts?: StartLog; now?: number } = {},
): FlowGate {
  return new FlowGate({
    rules: new Map(Object.entries(byType)),
    runningByType: new Map(Object.entries(opts.runningByType ?? {})),
    runningByKey: new Map(Object.entries(opts.runningByKey ?? {})),
    starts: opts.starts ?? new StartLog(),
    now: opts.now ?? 10_000,
  });
}
const asAdmission = (g: FlowGate): AdmissionGate => ({
  check: (j) => g.check({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
  admit: (j) => g.admit({ type: j.type!, concurrencyKey: j.concurrencyKey ?? null }),
});
const plan = (jobs: QueuedJob[], g: FlowGate, workers = [worker('w')]) => planPlacements(jobs, workers, asAdmission(g));

describe('flow control: pause', () => {
  it('holds every job of a paused type with QUEUE_PAUSED, and lets other types through', () => {
    const p = plan([job('a', 'mail'), job('b', 'export'), job('c', 'mail')], gateOf({ mail: rules({ paused: true }) }));
    expect(p.placements.map((x) => x.jobId)).toEqual(['b']);
    expect(p.waiting.map((w) => [w.jobId, w.reason.code])).toEqual([['a', 'QUEUE_PAUSED'], ['c', 'QUEUE_PAUSED']]);
  });

  it('a type with no settings is not held', () => {
    expect(gateOf({}).check({ type: 'x', concurrencyKey: 'k' })).toBeNull();
  });
});

describe('flow control: concurrency limits', () => {
  it('places up to the type limit, counting jobs already placed or running', () => {
    const p = plan([job('a'), job('b'), job('c')], gateOf({ t: rules({ concurrencyLimit: 3 }) }, { runningByType: { t: 1 } }));
    expect(p.placements.map((x) => x.jobId)).toEqual(['a', 'b']);
    expect(p.waiting[0]!.reason).toMatchObject({ code: 'CONCURRENCY_LIMIT', scope: 'type', key: null, limit: 3, running: 3 });
  });

  it('limits each key on its own; jobs without a key are not limited by the key limit', () => {
    const jobs = [job('a1', 't', 'A'), job('a2', 't', 'A'), job('b1', 't', 'B'), job('n1', 't', null), job('n2', 't', null), job('a3', 't', 'A')];
    const p = plan(jobs, gateOf({ t: rules({ keyConcurrencyLimit: 1 }) }));
    expect(p.placements.map((x) => x.jobId)).toEqual(['a1', 'b1', 'n1', 'n2']);
    expect(p.waiting.find((w) => w.jobId === 'a2')!.reason).toMatchObject({ code: 'CONCURRENCY_LIMIT', scope: 'key', key: 'A', limit: 1, running: 1 });
  });

  it('counts keys per type: the same key of another type is another pair', () => {
    const g = gateOf({ t: rules({ keyConcurrencyLimit: 1 }), u: rules({ keyConcurrencyLimit: 1 }) }, { runningByKey: { [pairKey('t', 'A')]: 1 } });
    expect(g.check({ type: 't', concurrencyKey: 'A' })?.code).toBe('CONCURRENCY_LIMIT');
    expect(g.check({ type: 'u', concurrencyKey: 'A' })).toBeNull();
  });

  it('a held job does not block the jobs behind it (no head-of-line blocking)', () => {
    const p = plan([job('a', 't'), job('b', 't'), job('c', 'u')], gateOf({ t: rules({ concurrencyLimit: 1 }) }));
    expect(p.placements.map((x) => x.jobId)).toEqual(['a', 'c']);
  });

  it('a job held by a rule reserves no worker even when starving; resources still decide for the others', () => {
    const jobs = [job('big', 't', null, 8, true), job('small', 'u', null, 1)];
    const p = plan(jobs, gateOf({ t: rules({ paused: true }) }), [worker('w', 10, 8)]);
    expect(p.reservations.size).toBe(0);
    expect(p.placements.map((x) => x.jobId)).toEqual(['small']);
  });

  it('combines with resources: a job admitted by the rules may still wait for room', () => {
    const p = plan([job('a', 't', null, 6), job('b', 't', null, 6)], gateOf({ t: rules({ concurrencyLimit: 5 }) }), [worker('w', 10, 8)]);
    expect(p.placements.map((x) => x.jobId)).toEqual(['a']);
    expect(p.waiting[0]!.reason.code).toBe('INSUFFICIENT_RESOURCES');
  });

  it('combines with priorities: the order given (priority first) decides who takes the limited places', () => {
    const p = plan([job('critical'), job('normal')], gateOf({ t: rules({ concurrencyLimit: 1 }) }));
    expect(p.placements.map((x) => x.jobId)).toEqual(['critical']);
  });
});

describe('flow control: rate limit', () => {
  it('admits `limit` starts per sliding window, then says until when', () => {
    const starts = new StartLog();
    for (const at of [9_100, 9_500]) starts.record('t', at);
    const g = gateOf({ t: rules({ rateLimit: { limit: 3, intervalMs: 1000 } }) }, { starts, now: 10_000 });
    const p = plan([job('a'), job('b'), job('c')], g);
    expect(p.placements.map((x) => x.jobId)).toEqual(['a']);
    // 9_100, 9_500 and a's start at 10_000: the next start is allowed when 9_100 leaves the window.
    expect(p.waiting[0]!.reason).toMatchObject({ code: 'RATE_LIMITED', until: new Date(10_100).toISOString(), limit: 3, interval_ms: 1000 });
  });

  it('rateLimitedUntil: a start exactly interval_ms old has left the window', () => {
    const rate = { limit: 2, intervalMs: 1000 };
    expect(rateLimitedUntil(rate, [1000, 1500], 1999)).toBe(2000);
    expect(rateLimitedUntil(rate, [1000, 1500], 2000)).toBeNull();
    expect(rateLimitedUntil(rate, [1500], 1999)).toBeNull();
  });

  it('any window of interval_ms holds at most `limit` starts when each pass places what the gate admits', () => {
    const rate = { limit: 5, intervalMs: 1000 };
    const starts = new StartLog();
    const all: number[] = [];
    for (let now = 0; now < 10_000; now += 37) {
      const g = gateOf({ t: rules({ rateLimit: rate }) }, { starts, now });
      const p = plan(Array.from({ length: 20 }, (_, i) => job(`j${now}-${i}`)), g);
      for (let i = 0; i < p.placements.length; i += 1) {
        starts.record('t', now);
        all.push(now);
      }
    }
    for (const t of all) expect(all.filter((s) => s > t - rate.intervalMs && s <= t).length).toBeLessThanOrEqual(rate.limit);
    expect(all.length).toBeGreaterThanOrEqual(45); // ~5 per second over 10 s
  });

  it('StartLog: after the wall clock was stepped back, a type is held one interval, not the step’s length on top', () => {
    const rate = { limit: 10, intervalMs: 60_000 };
    const log = new StartLog();
    const at = 100_000_000;
    for (let i = 0; i < 10; i++) log.record('t', at + i);
    log.record('t', at + 20, 'booked'); // a booking not confirmed yet
    const now = at - 3_600_000; // the clock stepped back an hour
    const until = rateLimitedUntil(rate, log.window('t', rate.intervalMs, now), now);
    expect(until).not.toBeNull();
    expect(until! - now).toBeLessThanOrEqual(rate.intervalMs);
    // One interval later the type may start again; before, it stayed held for the hour as well.
    expect(rateLimitedUntil(rate, log.window('t', rate.intervalMs, now + rate.intervalMs), now + rate.intervalMs)).toBeNull();
    // Starts confirmed a little after a pass's clock read keep their times.
    const soon = new StartLog();
    soon.record('t', now + 300);
    expect(soon.window('t', 1000, now)).toEqual([now + 300]);
  });

  it('StartLog keeps starts sorted and forgets those out of the window', () => {
    const log = new StartLog();
    log.record('t', 300);
    log.record('t', 100);
    log.record('t', 200);
    expect(log.window('t', 1000, 500)).toEqual([100, 200, 300]);
    expect(log.window('t', 250, 500)).toEqual([300]);
    expect(log.types()).toEqual(['t']);
  });

  it('StartLog.started moves a booked start to its later real start, never earlier', () => {
    const log = new StartLog();
    log.record('t', 1000, 'a');
    log.record('t', 1100, 'b');
    log.started('a', 1200);
    log.started('b', 1050);
    log.started('unknown', 5000);
    expect(log.window('t', 10_000, 2000)).toEqual([1100, 1200]);
  });

  it('StartLog counts a start booked on a worker as starting now until it is confirmed', () => {
    const log = new StartLog();
    log.record('t', 1000, 'a');
    // Not confirmed yet: it stays in every window, at the time asked about.
    expect(log.window('t', 1000, 1500)).toEqual([1500]);
    expect(log.window('t', 1000, 2500)).toEqual([2500]);
    expect(rateLimitedUntil({ limit: 1, intervalMs: 1000 }, log.window('t', 1000, 2500), 2500)).toBe(3500);
    expect(log.types()).toEqual(['t']);
    log.started('a', 2400);
    expect(log.window('t', 1000, 2500)).toEqual([2400]);
    expect(log.window('t', 1000, 3400)).toEqual([]);
  });

  it('StartLog counts a start never confirmed at its booking time once PENDING_START_MS have passed', () => {
    const log = new StartLog();
    log.record('t', 1000, 'gone');
    log.record('t', 1000 + PENDING_START_MS - 100, 'late');
    const now = 1000 + PENDING_START_MS;
    expect(log.window('t', PENDING_START_MS + 1, now)).toEqual([1000, now]);
    // It started after all: its start moves from its booking time to its real one, counted once.
    log.started('gone', now);
    expect(log.window('t', PENDING_START_MS + 1, now)).toEqual([now, now]);
    expect(log.window('t', 1000, now)).toEqual([now, now]);
  });

  it('StartLog keeps only the latest booking of a job placed again', () => {
    const log = new StartLog();
    log.record('t', 1000, 'a');
    log.record('t', 1500, 'a');
    expect(log.window('t', 1000, 1600)).toEqual([1600]);
    log.started('a', 1700);
    expect(log.window('t', 1000, 1800)).toEqual([1700]);
  });

  it('counts the starts confirmed after the pass read the clock, at their later real times', () => {
    // A worker of another process confirms a booked start while the pass, its clock read, still runs.
    const rate = { limit: 2, intervalMs: 1000 };
    const starts = new StartLog();
    starts.record('t', 9_990, 'a');
    starts.record('t', 9_995, 'b');
    const g = gateOf({ t: rules({ rateLimit: rate }) }, { starts, now: 10_000 });
    starts.started('a', 10_020);
    starts.started('b', 10_030);
    expect(g.check({ type: 't', concurrencyKey: null })).toMatchObject({ code: 'RATE_LIMITED', until: new Date(11_020).toISOString() });
    expect(rateLimitedUntil(rate, [10_030, 9_500, 10_020], 10_000)).toBe(11_020);
  });

  it('nextRateRelease gives the earliest time a held type may start again', () => {
    const starts = new StartLog();
    starts.record('t', 9_000);
    starts.record('u', 9_800);
    const g = gateOf({ t: rules({ rateLimit: { limit: 1, intervalMs: 2000 } }), u: rules({ rateLimit: { limit: 1, intervalMs: 500 } }) }, { starts, now: 10_000 });
    expect(g.nextRateRelease(['t', 'u'])).toBe(10_300);
  });
});

describe('flow control: held back as a whole', () => {
  it('lists paused, type-limited and rate-limited types, and (type, key) pairs at their key limit', () => {
    const starts = new StartLog();
    starts.record('r', 9_999);
    const g = gateOf(
      {
        p: rules({ paused: true }),
        c: rules({ concurrencyLimit: 2 }),
        r: rules({ rateLimit: { limit: 1, intervalMs: 1000 } }),
        k: rules({ keyConcurrencyLimit: 2 }),
      },
      { runningByType: { c: 2, k: 3 }, runningByKey: { [pairKey('k', 'A')]: 2, [pairKey('k', 'B')]: 1 }, starts },
    );
    const held = g.heldBack();
    expect(Object.fromEntries([...held.types].map(([t, r]) => [t, r.code]))).toEqual({ p: 'QUEUE_PAUSED', c: 'CONCURRENCY_LIMIT', r: 'RATE_LIMITED' });
    expect([...held.pairs.values()].map((p) => [p.type, p.key, p.reason.code])).toEqual([['k', 'A', 'CONCURRENCY_LIMIT']]);
  });
});

describe('StartLog: a booked start confirmed after PENDING_START_MS', () => {
  it('counts at its real start, not at its booking: the window holds it', () => {
    const log = new StartLog();
    log.record('t', 0, 'j');
    log.window('t', 1000, PENDING_START_MS + 1); // settled at its booking time, unconfirmed
    expect(log.started('j', 12_000)).toEqual({ type: 't', at: 12_000 }); // stored at its real time
    expect(rateLimitedUntil({ limit: 1, intervalMs: 1000 }, log.window('t', 1000, 12_500), 12_500)).toBe(13_000);
  });

  it('counts once', () => {
    const log = new StartLog();
    log.record('t', 0, 'j');
    log.window('t', 60_000, PENDING_START_MS + 1);
    log.started('j', 12_000);
    expect(log.window('t', 60_000, 12_500)).toEqual([12_000]);
  });
});
