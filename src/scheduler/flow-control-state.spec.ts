import { describe, expect, it } from '@jest/globals';
import type { JobQueueService } from '../jobs/job-queue.service.js';
import { Metrics } from '../metrics/metrics.js';
import type { QueuesService } from '../queues/queues.service.js';
import type { Held } from './domain/scheduling.js';
import { FlowControlState } from './flow-control-state.js';

type Call = [string, unknown];

function state(): { flow: FlowControlState; calls: Call[]; metrics: Metrics } {
  const calls: Call[] = [];
  const queue = {
    setHeldReasons: async (items: unknown) => (calls.push(['set', items]), 0),
    clearHeldReasons: async (items: unknown) => (calls.push(['clear', items]), 0),
    clearHeldReasonsExcept: async (keep: unknown) => (calls.push(['clearExcept', keep]), 0),
  } as unknown as JobQueueService;
  const metrics = new Metrics();
  const flow = new FlowControlState({} as QueuesService, queue, metrics);
  return { flow, calls, metrics };
}

const paused: Held = { types: new Map([['noop', { code: 'QUEUE_PAUSED', message: 'paused' } as never]]), pairs: new Map() };

describe('FlowControlState: waiting reasons across a leader change', () => {
  it("clears, at the first write of a term, every queue-rule reason except what this term's rules hold", async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.publishHeld(paused, true);
    expect(calls).toEqual([
      ['set', [{ type: 'noop', key: null, reason: paused.types.get('noop') }]],
      ['clearExcept', [{ type: 'noop', key: null }]],
    ]);
  });

  it('then clears only what its own holds released', async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.publishHeld(paused, true);
    calls.length = 0;
    await flow.publishHeld(undefined, true);
    expect(calls).toEqual([['clear', [{ type: 'noop', key: null }]]]);
    calls.length = 0;
    await flow.publishHeld(undefined, true);
    expect(calls).toEqual([]);
  });

  it('a second term in the same process forgets the holds of its first', async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.publishHeld(paused, true);
    flow.takeOver();
    calls.length = 0;
    await flow.publishHeld(undefined, true);
    expect(calls).toEqual([['clearExcept', []]]);
  });

  it('writes nothing while reasons are not due', async () => {
    const { flow, calls } = state();
    flow.takeOver();
    await flow.publishHeld(paused, false);
    expect(calls).toEqual([]);
  });
});

describe('FlowControlState: the held gauge', () => {
  const shown = async (metrics: Metrics) => (await metrics.queueHeld.get()).values.map((v) => [v.labels, v.value]);

  it('shows each type held as a whole with its reason, and drops it once released', async () => {
    const { flow, metrics } = state();
    flow.takeOver();
    await flow.publishHeld(paused, false);
    expect(await shown(metrics)).toEqual([[{ type: 'noop', reason: 'QUEUE_PAUSED' }, 1]]);
    await flow.publishHeld(paused, false);
    expect(await shown(metrics)).toEqual([[{ type: 'noop', reason: 'QUEUE_PAUSED' }, 1]]);
    await flow.publishHeld(undefined, false);
    expect(await shown(metrics)).toEqual([]);
  });

  it('is written afresh at takeover', async () => {
    const { flow, metrics } = state();
    flow.takeOver();
    await flow.publishHeld(paused, false);
    metrics.queueHeld.reset();
    flow.takeOver();
    await flow.publishHeld(paused, false);
    expect(await shown(metrics)).toEqual([[{ type: 'noop', reason: 'QUEUE_PAUSED' }, 1]]);
  });
});
