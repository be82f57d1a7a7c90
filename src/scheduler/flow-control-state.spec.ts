import { describe, expect, it } from '@jest/globals';
import type { JobQueueService } from '../jobs/job-queue.service.js';
import { Metrics } from '../metrics/metrics.js';
import type { QueueSettings } from '../queues/queue-settings.repository.js';
import type { QueuesService } from '../queues/queues.service.js';
import type { RateLimitStart, RateLimitStartsRepository, RecentStart } from '../queues/rate-limit-starts.repository.js';
import type { AllocationLedger } from '../resources/domain/allocation-ledger.js';
import type { Held } from './domain/scheduling.js';
import { FlowControlState } from './flow-control-state.js';
import { RateLimitStartLog } from './rate-limit-start-log.js';

type Call = [string, unknown];

function state(): { flow: FlowControlState; calls: Call[]; metrics: Metrics } {
  const calls: Call[] = [];
  const queue = {
    setHeldReasons: async (items: unknown) => (calls.push(['set', items]), 0),
    clearHeldReasons: async (items: unknown) => (calls.push(['clear', items]), 0),
    clearHeldReasonsExcept: async (keep: unknown) => (calls.push(['clearExcept', keep]), 0),
  } as unknown as JobQueueService;
  const metrics = new Metrics();
  const flow = new FlowControlState({} as QueuesService, queue, metrics, new RateLimitStartLog({} as RateLimitStartsRepository));
  return { flow, calls, metrics };
}

const paused: Held = { types: new Map([['noop', { code: 'QUEUE_PAUSED', message: 'paused' } as never]]), pairs: new Map() };

describe('FlowControlState: waiting reasons across a leader change', () => {
  it("clears, at the first write of a term, every queue-rule reason except what this term's rules hold", async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.writeHeldReasons(paused);
    expect(calls).toEqual([
      ['set', [{ type: 'noop', key: null, reason: paused.types.get('noop') }]],
      ['clearExcept', [{ type: 'noop', key: null }]],
    ]);
  });

  it('then clears only what its own holds released', async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.writeHeldReasons(paused);
    calls.length = 0;
    await flow.writeHeldReasons(undefined);
    expect(calls).toEqual([['clear', [{ type: 'noop', key: null }]]]);
    calls.length = 0;
    await flow.writeHeldReasons(undefined);
    expect(calls).toEqual([]);
  });

  it('a second term in the same process forgets the holds of its first', async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.writeHeldReasons(paused);
    flow.takeOver();
    calls.length = 0;
    await flow.writeHeldReasons(undefined);
    expect(calls).toEqual([['clearExcept', []]]);
  });

  it('writes no reasons while publishing the gauge with no job arrived', async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.publishHeld(paused);
    expect(calls).toEqual([]);
  });
});

describe('FlowControlState: the held gauge', () => {
  const shown = async (metrics: Metrics) => (await metrics.queueHeld.get()).values.map((v) => [v.labels, v.value]);

  it('shows each type held as a whole with its reason, and drops it once released', async () => {
    const { flow, metrics } = state();
    flow.takeOver();
    await flow.publishHeld(paused);
    expect(await shown(metrics)).toEqual([[{ type: 'noop', reason: 'QUEUE_PAUSED' }, 1]]);
    await flow.publishHeld(paused);
    expect(await shown(metrics)).toEqual([[{ type: 'noop', reason: 'QUEUE_PAUSED' }, 1]]);
    await flow.publishHeld(undefined);
    expect(await shown(metrics)).toEqual([]);
  });

  it('is written afresh at takeover', async () => {
    const { flow, metrics } = state();
    flow.takeOver();
    await flow.publishHeld(paused);
    metrics.queueHeld.reset();
    flow.takeOver();
    await flow.publishHeld(paused);
    expect(await shown(metrics)).toEqual([[{ type: 'noop', reason: 'QUEUE_PAUSED' }, 1]]);
  });
});

describe('FlowControlState: the starts of rate-limited types', () => {
  const ledger = { runningCounts: () => ({ byType: new Map(), byKey: new Map() }) } as unknown as AllocationLedger;
  const rated = (type: string, limit: number, intervalMs: number): QueueSettings =>
    ({ type, paused: false, concurrencyLimit: null, keyConcurrencyLimit: null, rateLimit: { limit, intervalMs }, updatedAt: null });

  function withStored(stored: RecentStart[]) {
    let settings: QueueSettings[] = [];
    const reads: Array<{ types: readonly string[]; windowMs: number }> = [];
    const recorded: RateLimitStart[] = [];
    const starts = {
      recent: async (types: readonly string[], windowMs: number) => (reads.push({ types, windowMs }), stored.filter((s) => types.includes(s.type))),
      record: async (rows: readonly RateLimitStart[]) => void recorded.push(...rows),
      prune: async () => 0,
    } as unknown as RateLimitStartsRepository;
    const queues = { settings: async () => settings } as unknown as QueuesService;
    const flow = new FlowControlState(queues, {} as JobQueueService, new Metrics(), new RateLimitStartLog(starts));
    const set = (next: QueueSettings[]) => {
      settings = next;
      flow.markStale();
    };
    return { flow, reads, recorded, set };
  }

  it('reads the stored starts of a type when its limit is set, and not again while it holds', async () => {
    const now = Date.now();
    const { flow, reads, set } = withStored([
      { jobId: 'a', type: 'noop', at: now - 500, kind: 'stored' },
      { jobId: 'b', type: 'noop', at: now - 400, kind: 'stored' },
    ]);
    flow.takeOver();
    set([rated('noop', 2, 1000)]);
    let gate = await flow.gate(ledger);
    expect(reads).toEqual([{ types: ['noop'], windowMs: 1000 }]);
    expect(gate!.check({ type: 'noop', concurrencyKey: null })).toMatchObject({ code: 'RATE_LIMITED' });
    set([rated('noop', 3, 1000)]);
    gate = await flow.gate(ledger);
    expect(reads).toHaveLength(1);
    expect(gate!.check({ type: 'noop', concurrencyKey: null })).toBeNull();
  });

  it('reads them again when the window widens, and at a takeover', async () => {
    const { flow, reads, set } = withStored([]);
    flow.takeOver();
    set([rated('noop', 2, 1000)]);
    await flow.gate(ledger);
    set([rated('noop', 2, 500)]);
    await flow.gate(ledger);
    set([rated('noop', 2, 5000)]);
    await flow.gate(ledger);
    set([rated('noop', 2, 1000)]);
    await flow.gate(ledger);
    set([rated('noop', 2, 5000)]);
    await flow.gate(ledger);
    flow.takeOver();
    await flow.gate(ledger);
    expect(reads.map((r) => r.windowMs)).toEqual([1000, 5000, 5000, 5000]);
  });

  it('reads them again when the limit is set again after it was removed, also when no queue had any rule meanwhile', async () => {
    const { flow, reads, set } = withStored([]);
    flow.takeOver();
    set([rated('noop', 2, 1000)]);
    await flow.gate(ledger);
    set([]);
    expect(await flow.gate(ledger)).toBeUndefined();
    set([rated('noop', 2, 1000)]);
    await flow.gate(ledger);
    expect(reads.map((r) => r.types)).toEqual([['noop'], ['noop']]);
  });

  it('stores the starts it reads from the jobs table, and those of the placements it reads once they start', async () => {
    const now = Date.now();
    const { flow, recorded, set } = withStored([
      { jobId: 'kept', type: 'noop', at: now - 900, kind: 'stored' },
      { jobId: 'ran', type: 'noop', at: now - 800, kind: 'started' },
      { jobId: 'placed', type: 'noop', at: now - 700, kind: 'placed' },
    ]);
    flow.takeOver();
    set([rated('noop', 3, 1000)]);
    const gate = await flow.gate(ledger);
    expect(gate!.check({ type: 'noop', concurrencyKey: null })).toMatchObject({ code: 'RATE_LIMITED' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorded.map((r) => r.jobId)).toEqual(['ran']);
    flow.started('placed', now - 100);
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorded.map((r) => [r.jobId, r.at])).toEqual([['ran', now - 800], ['placed', now - 100]]);
  });

  it('goes on storing the starts of a type whose rate limit was removed, so that a limit set again counts them', async () => {
    const { flow, recorded, set } = withStored([]);
    flow.takeOver();
    set([rated('noop', 2, 1000)]);
    await flow.gate(ledger);
    set([]);
    await flow.gate(ledger);
    flow.recordStarts([{ id: 'here', type: 'noop' }, { id: 'never-rated', type: 'other' }], { started: true });
    flow.recordStarts([{ id: 'there', type: 'noop' }], { started: false });
    flow.started('there', 42);
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorded.map((r) => r.jobId)).toEqual(['here', 'there']);
    expect(recorded[1]!.at).toBe(42);
  });

  it('stores each start it counts: at once when this process started it, at its job_started when placed elsewhere', async () => {
    const { flow, recorded, set } = withStored([]);
    flow.takeOver();
    set([rated('noop', 10, 1000)]);
    await flow.gate(ledger);
    flow.recordStarts([{ id: 'a', type: 'noop' }, { id: 'x', type: 'other' }], { started: true });
    flow.recordStarts([{ id: 'b', type: 'noop' }], { started: false });
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorded.map((r) => r.jobId)).toEqual(['a']);
    const startedAt = Date.now() + 5;
    flow.started('b', startedAt);
    flow.started('c', startedAt);
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorded.map((r) => [r.jobId, r.type])).toEqual([['a', 'noop'], ['b', 'noop']]);
    expect(recorded[1]!.at).toBe(startedAt);
  });
});

describe('FlowControlState: reading the settings', () => {
  const ledger = { runningCounts: () => ({ byType: new Map(), byKey: new Map() }) } as unknown as AllocationLedger;
  const noStarts = { recent: async () => [], record: async () => undefined, prune: async () => 0 } as unknown as RateLimitStartsRepository;
  const pausedNoop: QueueSettings = { type: 'noop', paused: true, concurrencyLimit: null, keyConcurrencyLimit: null, rateLimit: null, updatedAt: null };

  /** Settings whose reads answer only when `answer()` is called, counting the reads. */
  function slowSettings() {
    const waiting: Array<() => void> = [];
    let reads = 0;
    const queues = {
      settings: () => ((reads += 1), new Promise<QueueSettings[]>((resolve) => waiting.push(() => resolve([pausedNoop])))),
    } as unknown as QueuesService;
    const flow = new FlowControlState(queues, {} as JobQueueService, new Metrics(), new RateLimitStartLog(noStarts));
    const answer = async () => {
      for (let turns = 0; waiting.length === 0; turns += 1) {
        if (turns === 100) throw new Error('no read of the settings was asked for');
        await new Promise((resolve) => setImmediate(resolve));
      }
      waiting.shift()!();
    };
    return { flow, answer, reads: () => reads };
  }

  it('a pass asking while the sweep reads them at a takeover waits for that read, and sees a paused queue', async () => {
    const { flow, answer, reads } = slowSettings();
    flow.takeOver();
    const sweepAsks = flow.rateLimitedTypes();
    const passAsks = flow.gate(ledger);
    expect(flow.withoutRules()).toBe(false);
    await answer();
    const [, gate] = await Promise.all([sweepAsks, passAsks]);
    expect(gate?.heldBack().types.get('noop')).toMatchObject({ code: 'QUEUE_PAUSED' });
    expect(reads()).toBe(1);
  });

  it('a change signalled during a read is read again before the rules are used', async () => {
    const { flow, answer, reads } = slowSettings();
    const first = flow.gate(ledger);
    await new Promise((resolve) => setImmediate(resolve));
    flow.markStale();
    await answer();
    await answer();
    await first;
    expect(reads()).toBe(2);
    expect(flow.withoutRules()).toBe(false);
  });
});

describe('FlowControlState: the counts check in the sweep', () => {
  it('runs once per interval even when it fails, instead of at every sweep', async () => {
    let checks = 0;
    const queues = {
      foldCounts: async () => undefined,
      checkCounts: async () => {
        checks++;
        throw new Error('canceling statement due to statement timeout');
      },
    } as unknown as QueuesService;
    const flow = new FlowControlState(queues, {} as JobQueueService, new Metrics(), new RateLimitStartLog({} as RateLimitStartsRepository));
    flow.takeOver();
    await expect(flow.sweep()).rejects.toThrow('statement timeout');
    for (let sweep = 0; sweep < 5; sweep++) await flow.sweep();
    expect(checks).toBe(1);
  });
});
