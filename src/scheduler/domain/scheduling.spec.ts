import { describe, expect, it } from '@jest/globals';
import type { JobEvent, JobEventName } from '../../events/job-event-bus.js';
import type { Worker } from '../../resources/entities/worker.entity.js';
import type { Reason } from '../../resources/domain/placement.js';
import { FlowGate, StartLog, NO_RULES } from './flow-control.js';
import {
  anyRoom,
  byLane,
  largestRoom,
  changedReasons,
  dueTimerDelay,
  dueTimerKept,
  eventEffects,
  fullWindowPlaced,
  heldChange,
  heldGauge,
  liveWorkerIds,
  MAX_TIMER_MS,
  PROMOTE_BATCH,
  PROMOTE_ROUND_MIN,
  PROMOTE_ROUND_MS,
  promoteAgainAfterRead,
  promoteAgainAtOnce,
  promoteRoundLimit,
  promoteRowCost,
  queuedJobs,
  rateTimerDelay,
  rateTimerKept,
  roomsOf,
  signalEffects,
  type ReadyRow,
} from './scheduling.js';
import { backlogAfter, fairOrder, keyedSeenAfter, leftOut, readsFairAtOnce, readsHeadFirst } from './ready-read.js';

const event = (name: JobEventName, data: Record<string, unknown> = {}): JobEvent => ({
  event: name,
  jobId: 'j1',
  data: { job_id: 'j1', type: 't', priority: 'normal', status: 'running', attempt: 1, sequence: 2, timestamp: '2026-01-01T00:00:01.000Z', ...data },
});
const worker = (id: string, status: Worker['status'], slots = 4): Worker =>
  ({ id, status, maxConcurrentJobs: slots, maxCpuUnits: 8, maxMemoryMb: 4096 }) as Worker;
const ready = (id: string, over: Partial<ReadyRow> = {}): ReadyRow => ({
  id,
  type: 't',
  concurrencyKey: null,
  priority: 'normal',
  cpuUnits: 1,
  memoryMb: 128,
  queuedAt: new Date(10_000),
  createdAt: new Date(5_000),
  reasonCode: null,
  reasonMessage: null,
  ...over,
});
const reason = (code: Reason['code'], message: string): Reason => ({ code, message });

describe(eventEffects.name, () => {
  it.each(['job_completed', 'job_failed', 'job_timeout'] as const)('%s releases the booking and asks for a pass', (name) => {
    expect(eventEffects(event(name, { status: 'completed' }))).toEqual({ release: true, startedAt: null, ledgerStale: false, dueAt: null, kick: true, readyType: null });
  });

  it('job_cancelled keeps the booking (the handler may still run) but marks the ledger for a rebuild', () => {
    expect(eventEffects(event('job_cancelled', { status: 'cancelled' }))).toMatchObject({ release: false, ledgerStale: true, kick: true });
  });

  it('job_started moves the booked start to the real one, and places nothing', () => {
    expect(eventEffects(event('job_started'))).toEqual({ release: false, startedAt: Date.parse('2026-01-01T00:00:01.000Z'), ledgerStale: false, dueAt: null, kick: false, readyType: null });
  });

  it('a job left pending until a time arms the due timer instead of asking for a pass', () => {
    const effects = eventEffects(event('job_failed', { status: 'pending', next_run_at: '2026-01-01T00:01:00.000Z' }));
    expect(effects).toMatchObject({ release: true, dueAt: Date.parse('2026-01-01T00:01:00.000Z'), kick: false });
  });

  it('a job created ready asks for a pass; one created blocked or pending without a time does not', () => {
    expect(eventEffects(event('job_created', { status: 'ready' })).kick).toBe(true);
    expect(eventEffects(event('job_created', { status: 'blocked' })).kick).toBe(false);
    expect(eventEffects(event('job_created', { status: 'pending' }))).toMatchObject({ dueAt: null, kick: false });
  });

  it('names the type of a job that became ready (a queue rule may hold it: its reason is written at the next pass)', () => {
    expect(eventEffects(event('job_created', { status: 'ready' })).readyType).toBe(event('job_created').data.type);
    expect(eventEffects(event('job_ready', { status: 'ready' })).readyType).toBe(event('job_ready').data.type);
    expect(eventEffects(event('job_created', { status: 'blocked' })).readyType).toBeNull();
    expect(eventEffects(event('job_completed', { status: 'completed' })).readyType).toBeNull();
  });
});

describe(signalEffects.name, () => {
  it('marks what each signal changes, and asks for a pass', () => {
    expect(signalEffects({ kind: 'workers_changed', workerId: 'w' })).toEqual({ workers: true, ledger: false, rules: false, kick: true });
    expect(signalEffects({ kind: 'capacity_freed', workerId: 'w' })).toEqual({ workers: false, ledger: true, rules: false, kick: true });
    expect(signalEffects({ kind: 'queues_changed', type: 't' })).toEqual({ workers: false, ledger: false, rules: true, kick: true });
    expect(signalEffects({ kind: 'jobs_waiting' })).toEqual({ workers: false, ledger: false, rules: false, kick: true });
  });

  it('leaves schedule updates to the schedule timer', () => {
    expect(signalEffects({ kind: 'schedule_update', update: { event: 'schedule_fired', scheduleId: 's', data: {} } }).kick).toBe(false);
  });
});

describe(roomsOf.name, () => {
  it('gives each worker its capacity and what the ledger booked on it; only active workers accept', () => {
    const rooms = roomsOf([worker('a', 'active'), worker('b', 'draining')], new Map([['a', { slots: 2, cpuUnits: 3, memoryMb: 256 }]]));
    expect(rooms).toEqual([
      { id: 'a', accepting: true, capacity: { slots: 4, cpuUnits: 8, memoryMb: 4096 }, allocated: { slots: 2, cpuUnits: 3, memoryMb: 256 } },
      { id: 'b', accepting: false, capacity: { slots: 4, cpuUnits: 8, memoryMb: 4096 }, allocated: { slots: 0, cpuUnits: 0, memoryMb: 0 } },
    ]);
  });

  it('anyRoom: a free slot on an accepting worker', () => {
    const full = new Map([['a', { slots: 4, cpuUnits: 4, memoryMb: 512 }]]);
    expect(anyRoom(roomsOf([worker('a', 'active')], full))).toBe(false);
    expect(anyRoom(roomsOf([worker('a', 'active'), worker('b', 'draining')], full))).toBe(false);
    expect(anyRoom(roomsOf([worker('a', 'active'), worker('c', 'active')], full))).toBe(true);
  });

  it('largestRoom: the most cpu and memory left on an accepting worker with a free slot, each its own maximum', () => {
    const booked = new Map([
      ['a', { slots: 1, cpuUnits: 6, memoryMb: 512 }],
      ['b', { slots: 2, cpuUnits: 2, memoryMb: 4000 }],
      ['full', { slots: 4, cpuUnits: 0, memoryMb: 0 }],
    ]);
    expect(largestRoom(roomsOf([worker('a', 'active'), worker('b', 'active'), worker('full', 'active'), worker('d', 'draining')], booked))).toEqual({
      cpuUnits: 6,
      memoryMb: 3584,
    });
    expect(largestRoom(roomsOf([worker('full', 'active'), worker('d', 'draining')], booked))).toEqual({ cpuUnits: 0, memoryMb: 0 });
  });

  it('liveWorkerIds: active and draining workers keep their placements', () => {
    expect(liveWorkerIds([worker('a', 'active'), worker('b', 'draining'), worker('c', 'lost'), worker('d', 'stopped')])).toEqual(new Set(['a', 'b']));
  });
});

describe('which jobs a pass considers', () => {
  const heldBy = (rules: Record<string, Partial<typeof NO_RULES>>, runningByKey: Record<string, number> = {}) =>
    new FlowGate({
      rules: new Map(Object.entries(rules).map(([t, r]) => [t, { ...NO_RULES, ...r }])),
      runningByType: new Map(),
      runningByKey: new Map(Object.entries(runningByKey)),
      starts: new StartLog(),
      now: 0,
    }).heldBack();

  it('leaves out what the rules hold back as a whole', () => {
    expect(leftOut(heldBy({ t: { concurrencyLimit: 5 } }))).toEqual({ types: [], pairs: [] });
    const held = heldBy({ p: { paused: true }, k: { keyConcurrencyLimit: 1 } }, { 'k\u0000A': 1 });
    expect(leftOut(held)).toEqual({ types: ['p'], pairs: [{ type: 'k', key: 'A' }] });
    expect(leftOut(undefined)).toEqual({ types: [], pairs: [] });
  });

  it('reads the fair queue at once while keyed jobs keep coming, and probes again once a read finds only jobs without keys', () => {
    expect(readsFairAtOnce(undefined, false)).toBe(false);
    expect(readsFairAtOnce(heldBy({ t: { concurrencyLimit: 5 } }), false)).toBe(false);
    expect(readsFairAtOnce(heldBy({ p: { paused: true } }), false)).toBe(true);
    expect(readsFairAtOnce(undefined, true)).toBe(true);
    const keyed = { concurrencyKey: 'A' };
    const plain = { concurrencyKey: null };
    expect(keyedSeenAfter([plain, keyed], false)).toBe(true);
    expect(keyedSeenAfter([], true)).toBe(true);
    expect(keyedSeenAfter([], false)).toBe(false);
    expect(keyedSeenAfter([plain], true)).toBe(false);
  });

  it('reads the plain head first unless a backlog with keys or holds needs the fair query', () => {
    const paused = heldBy({ p: { paused: true } });
    expect(readsHeadFirst(undefined, false, false)).toBe(true);
    expect(readsHeadFirst(undefined, true, false)).toBe(true); // keyed jobs, no backlog: the head is the whole set
    expect(readsHeadFirst(paused, false, false)).toBe(true);
    expect(readsHeadFirst(undefined, false, true)).toBe(true); // a backlog without keys: the head, then a probe
    expect(readsHeadFirst(undefined, true, true)).toBe(false);
    expect(readsHeadFirst(paused, false, true)).toBe(false);
    expect(backlogAfter(500, 500, 500)).toBe(true);
    expect(backlogAfter(499, 499, 500)).toBe(false);
    expect(backlogAfter(500, 120, 500)).toBe(true); // the fair read after a full head: the head's count tells
    expect(backlogAfter(null, 3, 500)).toBe(true); // straight to the fair query: a backlog lasts while it finds jobs
    expect(backlogAfter(null, 0, 500)).toBe(false);
  });

  describe('fairOrder: the fair ready queue of a whole ready set', () => {
    /** Rows in the plain order (priority, due time, id), as the head read returns them. */
    const row = (id: string, key: string | null, over: Partial<ReadyRow> = {}) => ready(id, { concurrencyKey: key, ...over });
    const ids = (rows: ReadyRow[]) => rows.map((r) => r.id);
    const none = { types: [], pairs: [] };

    it('gives keys turns: a key with 10 jobs does not delay a key with 2 by more than one turn', () => {
      const head = [...Array.from({ length: 10 }, (_, i) => row(`big${i}`, 'big')), row('small0', 'small'), row('small1', 'small'), row('plain0', null)];
      expect(ids(fairOrder(head, none, 6))).toEqual(['big0', 'small0', 'plain0', 'big1', 'small1', 'big2']);
    });

    it("cuts each key to its share of the window, its jobs due earliest", () => {
      const head = [row('a1', 'a'), row('a2', 'a'), row('b1', 'b'), row('late', 'a')];
      expect(ids(fairOrder(head, none, 4))).toEqual(['a1', 'b1', 'a2']); // two keys in a window of 4: a share of 2 each
      expect(ids(fairOrder(head, none, 10))).toEqual(['a1', 'b1', 'a2', 'late']);
    });

    it('orders by priority before turns, and turns start again in each priority', () => {
      const head = [row('a-high', 'a', { priority: 'high' }), row('a-normal', 'a'), row('b-normal', 'b'), row('a-normal2', 'a'), row('p', null)];
      expect(ids(fairOrder(head, none, 10))).toEqual(['a-high', 'a-normal', 'b-normal', 'p', 'a-normal2']);
    });

    it('leaves out a held (type, key) pair and a held type, never the other types of the same key', () => {
      const head = [
        row('k-email', 'k', { type: 'email' }),
        row('k-noop', 'k', { type: 'noop' }),
        row('k-fetch', 'k', { type: 'fetch' }),
        row('j-email', 'j', { type: 'email' }),
        row('plain-fetch', null, { type: 'fetch' }),
        row('plain-noop', null, { type: 'noop' }),
      ];
      const out = { types: ['fetch'], pairs: [{ type: 'email', key: 'k' }] };
      expect(ids(fairOrder(head, out, 10))).toEqual(['k-noop', 'j-email', 'plain-noop']);
    });

    it("counts a key's share across its types, and keeps the plain order when no job has a key", () => {
      const head = [row('k-email0', 'k', { type: 'email' }), row('k-noop0', 'k'), row('k-email1', 'k', { type: 'email' }), row('k-noop1', 'k'), row('m0', 'm')];
      expect(ids(fairOrder(head, none, 4))).toEqual(['k-email0', 'm0', 'k-noop0']);
      const plain = [row('x', null, { priority: 'high' }), row('y', null), row('z', null)];
      expect(ids(fairOrder(plain, none, 2))).toEqual(['x', 'y']);
      expect(ids(fairOrder(plain, { types: ['t'], pairs: [] }, 10))).toEqual([]);
    });
  });

  it('the held gauge changes only when a type held as a whole or its reason does, not with key holds or order', () => {
    const none = heldGauge(undefined);
    expect(heldGauge(heldBy({ t: { concurrencyLimit: 5 } }))).toBe(none);
    expect(heldGauge(heldBy({ k: { keyConcurrencyLimit: 1 } }, { 'k\u0000A': 1 }))).toBe(none);
    const paused = heldGauge(heldBy({ p: { paused: true }, q: { paused: true } }));
    expect(paused).not.toBe(none);
    expect(heldGauge(heldBy({ q: { paused: true }, p: { paused: true } }))).toBe(paused);
    expect(heldGauge(heldBy({ p: { paused: true } }))).not.toBe(paused);
    expect(heldGauge(heldBy({ p: { paused: true }, q: { concurrencyLimit: 0 } }))).not.toBe(paused);
  });

  it('a job is starving once queued (or, never queued, created) before the starvation bound', () => {
    const jobs = queuedJobs([ready('old', { queuedAt: new Date(1_000) }), ready('new'), ready('unqueued', { queuedAt: null, createdAt: new Date(2_000) })], 5_000);
    expect(jobs.map((j) => [j.id, j.starving])).toEqual([['old', true], ['unqueued', true], ['new', false]]);
    expect(jobs[0]).toEqual({ id: 'old', cpuUnits: 1, memoryMb: 128, starving: true, type: 't', concurrencyKey: null });
  });

  it('puts starving jobs first, longest waiting first whatever their priority, and keeps the order of the rest', () => {
    const jobs = queuedJobs(
      [
        ready('high-starving', { queuedAt: new Date(3_000), priority: 'high' }),
        ready('fresh-a'),
        ready('low-starving', { queuedAt: new Date(1_000), priority: 'low' }),
        ready('fresh-b'),
      ],
      5_000,
    );
    expect(jobs.map((j) => j.id)).toEqual(['low-starving', 'high-starving', 'fresh-a', 'fresh-b']);
  });

  it('runs again at once only when it placed something from a full window', () => {
    expect(fullWindowPlaced(3, 500, 500)).toBe(true);
    expect(fullWindowPlaced(0, 500, 500)).toBe(false);
    expect(fullWindowPlaced(3, 499, 500)).toBe(false);
  });
});

describe(byLane.name, () => {
  it('groups the placements on workers of this process per worker in plan order; the rest go through queues', () => {
    const plan = [
      { jobId: 'a', workerId: 'local' },
      { jobId: 'b', workerId: 'remote' },
      { jobId: 'c', workerId: 'local' },
      { jobId: 'd', workerId: 'local2' },
    ];
    const { here, elsewhere } = byLane(plan, (w) => w.startsWith('local'));
    expect([...here]).toEqual([['local', ['a', 'c']], ['local2', ['d']]]);
    expect(elsewhere).toEqual([{ id: 'b', workerId: 'remote' }]);
  });
});

describe(changedReasons.name, () => {
  it('writes only the reasons that differ from what the job says now', () => {
    const rows = [ready('same', { reasonCode: 'NO_WORKERS', reasonMessage: 'no worker' }), ready('other', { reasonCode: 'NO_WORKERS', reasonMessage: 'no worker' }), ready('none')];
    const waiting = [
      { jobId: 'same', reason: reason('NO_WORKERS', 'no worker') },
      { jobId: 'other', reason: reason('INSUFFICIENT_RESOURCES', 'too big') },
      { jobId: 'none', reason: reason('NO_WORKERS', 'no worker') },
    ];
    expect(changedReasons(rows, waiting).map((c) => c.id)).toEqual(['other', 'none']);
  });
});

describe(heldChange.name, () => {
  it('says what is held as a whole now, and what no longer is (to clear its reasons)', () => {
    const held = {
      types: new Map([['p', { code: 'QUEUE_PAUSED' as const, message: 'paused' }]]),
      pairs: new Map([['k\u0000A', { type: 'k', key: 'A', reason: { code: 'CONCURRENCY_LIMIT' as const, message: 'limit' } }]]),
    };
    const before = new Map([
      ['p', { type: 'p', key: null }],
      ['gone', { type: 'gone', key: null }],
      ['k\u0000B', { type: 'k', key: 'B' }],
    ]);
    const { now, released } = heldChange(held, before);
    expect([...now]).toEqual([['p', { type: 'p', key: null }], ['k\u0000A', { type: 'k', key: 'A' }]]);
    expect(released).toEqual([{ type: 'gone', key: null }, { type: 'k', key: 'B' }]);
    expect(heldChange(undefined, now).released).toEqual([{ type: 'p', key: null }, { type: 'k', key: 'A' }]);
  });
});

describe('timer arming', () => {
  it('the due timer is kept when it already wakes no later; otherwise re-armed', () => {
    expect(dueTimerKept(null, 5_000)).toBe(false);
    expect(dueTimerKept(4_000, 5_000)).toBe(true);
    expect(dueTimerKept(5_000, 5_000)).toBe(true);
    expect(dueTimerKept(6_000, 5_000)).toBe(false);
  });

  it('the due timer waits until the time, never negative, at most an hour (Node fires longer timeouts at once)', () => {
    expect(dueTimerDelay(1_500, 1_000)).toBe(500);
    expect(dueTimerDelay(500, 1_000)).toBe(0);
    expect(dueTimerDelay(1_000 + 365 * 86_400_000, 1_000)).toBe(MAX_TIMER_MS);
  });

  it('a promotion round that filled its batch, or was woken while it ran, goes round again before reading the next due time', () => {
    expect(promoteAgainAtOnce(1_000, 1_000, false)).toBe(true);
    expect(promoteAgainAtOnce(1_400, 1_000, false)).toBe(true); // retries and delayed jobs each take up to the limit
    expect(promoteAgainAtOnce(999, 1_000, false)).toBe(false);
    expect(promoteAgainAtOnce(0, 1_000, true)).toBe(true);
  });

  it('after reading the next due time, a round goes round again when that job is due already and it promoted some; else the timer is armed', () => {
    expect(promoteAgainAfterRead(12, 4_999, 5_000, false)).toBe(true);
    expect(promoteAgainAfterRead(12, 5_000, 5_000, false)).toBe(true);
    expect(promoteAgainAfterRead(12, 5_001, 5_000, false)).toBe(false);
    expect(promoteAgainAfterRead(12, null, 5_000, false)).toBe(false);
    // nothing promoted while a job is due (its row locked by another statement): the timer tries again, not a tight loop
    expect(promoteAgainAfterRead(0, 4_000, 5_000, false)).toBe(false);
    expect(promoteAgainAfterRead(0, null, 5_000, true)).toBe(true);
  });

  it('a promotion round takes as many due jobs as fit in its time at the measured row cost, within its bounds', () => {
    expect(promoteRoundLimit(PROMOTE_ROUND_MS / 400)).toBe(400);
    expect(promoteRoundLimit(0.1)).toBe(500);
    expect(promoteRoundLimit(0.15)).toBe(333); // rounded down: a round stays within its time
    expect(promoteRoundLimit(5)).toBe(PROMOTE_ROUND_MIN); // a very slow row still moves a useful batch
    expect(promoteRoundLimit(0.01)).toBe(PROMOTE_BATCH);
    expect(promoteRoundLimit(0)).toBe(PROMOTE_BATCH);
    // before any round measured it, a row costs what it does beside running jobs: a bounded round, not a full batch
    expect(promoteRoundLimit(null)).toBeLessThan(PROMOTE_BATCH);
    expect(promoteRoundLimit(null)).toBeGreaterThanOrEqual(PROMOTE_ROUND_MIN);
  });

  it('the row cost follows the rounds: the first one sets it, each later one moves it halfway; rounds of a few rows leave it', () => {
    expect(promoteRowCost(null, 200, 20)).toBeCloseTo(0.1);
    expect(promoteRowCost(0.1, 200, 60)).toBeCloseTo(0.2); // one slow round: the next one half the size, not a third
    expect(promoteRowCost(0.2, 400, 20)).toBeCloseTo(0.125);
    expect(promoteRowCost(0.1, 60, 10)).toBe(0.1); // 10 ms for 60 rows is mostly the statement's fixed cost
    expect(promoteRowCost(null, 0, 3)).toBeNull();
    expect(promoteRowCost(0.1, 200, Number.NaN)).toBe(0.1);
    // the backlog after a slow round leaves in rounds shorter than a full batch
    expect(promoteRoundLimit(promoteRowCost(0.1, 1_000, 135))).toBeLessThan(PROMOTE_BATCH);
  });

  it('the rate timer is kept when it wakes no later and is not overdue', () => {
    expect(rateTimerKept(null, 5_000, 1_000)).toBe(false);
    expect(rateTimerKept(4_000, 5_000, 1_000)).toBe(true);
    expect(rateTimerKept(4_000, 5_000, 4_500)).toBe(false); // overdue: it did not fire yet, arm anew
    expect(rateTimerKept(6_000, 5_000, 1_000)).toBe(false);
  });

  it('the rate timer wakes just after the start is allowed', () => {
    expect(rateTimerDelay(1_500, 1_000)).toBe(501);
    expect(rateTimerDelay(500, 1_000)).toBe(1);
  });
});
