import { describe, expect, it } from '@jest/globals';
import { ExecutionService } from './execution.service.js';

describe('ExecutionService.run', () => {
  it("does not begin the handler when the worker's lease lapsed while the start was on its way", async () => {
    let lapsed = false;
    const handled: string[] = [];
    const job = { id: 'a', type: 'noop', attempts: 1, timeoutSeconds: 60, payload: {} };
    const lifecycle = { start: async () => ((lapsed = true), { job, hasDependencies: false }), startingJobIds: () => [] };
    const handlers = { get: () => ({ handle: async ({ id }: { id: string }) => void handled.push(id) }) };
    const recorder = { complete: async () => undefined, fail: async () => undefined };
    const lease = { isLapsed: () => lapsed };
    const executions = new ExecutionService({ id: 'w1' } as never, lifecycle as never, handlers as never, {} as never, recorder as never, lease as never);
    await executions.run({ jobId: 'a', attempt: 1 } as never);
    expect(handled).toEqual([]);
    expect(executions.activeCount).toBe(0);
  });

  it('runs it when the lease holds', async () => {
    const handled: string[] = [];
    const job = { id: 'a', type: 'noop', attempts: 1, timeoutSeconds: 60, payload: {} };
    const lifecycle = { start: async () => ({ job, hasDependencies: false }), startingJobIds: () => [] };
    const handlers = { get: () => ({ handle: async ({ id }: { id: string }) => void handled.push(id) }) };
    const recorder = { complete: async () => undefined, fail: async () => undefined };
    const executions = new ExecutionService({ id: 'w1' } as never, lifecycle as never, handlers as never, {} as never, recorder as never, { isLapsed: () => false } as never);
    await executions.run({ jobId: 'a', attempt: 1 } as never);
    expect(handled).toEqual(['a']);
  });
});

describe('ExecutionService while the worker drains', () => {
  const job = { id: 'a', type: 'noop', attempts: 1, timeoutSeconds: 60, payload: {} };

  it('waits for a start on its way (it may begin a handler), and then for that handler', async () => {
    let answer!: () => void;
    let finish!: () => void;
    const lifecycle = { start: () => new Promise((resolve) => (answer = () => resolve({ job, hasDependencies: false }))), startingJobIds: () => [] };
    const handlers = { get: () => ({ handle: () => new Promise<void>((resolve) => (finish = resolve)) }) };
    const recorder = { complete: async () => undefined, fail: async () => undefined };
    const executions = new ExecutionService({ id: 'w1' } as never, lifecycle as never, handlers as never, {} as never, recorder as never, { isLapsed: () => false } as never);
    const run = executions.run({ jobId: 'a', attempt: 1 } as never);
    let idle = false;
    const waiting = executions.waitIdle(5000).then(() => (idle = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(idle).toBe(false);
    answer();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(idle).toBe(false);
    finish();
    await Promise.all([run, waiting]);
    expect(idle).toBe(true);
  });

  it('starts nothing once draining: the job stays placed, for the drain to hand back', async () => {
    let starts = 0;
    const lifecycle = { start: async () => ((starts += 1), { job, hasDependencies: false }), startingJobIds: () => [] };
    const executions = new ExecutionService({ id: 'w1' } as never, lifecycle as never, {} as never, {} as never, {} as never, { isLapsed: () => false } as never);
    executions.drain();
    await executions.run({ jobId: 'a', attempt: 1 } as never);
    expect(starts).toBe(0);
  });
});
