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

describe('ExecutionService: starts on their way and jobs held for a slot, while the worker drains', () => {
  it("waits for this process's place-and-start on its way, and for a started job held for a slot", async () => {
    let starting = ['b'];
    let held = false;
    const lifecycle = { start: async () => null, startingJobIds: () => starting };
    const executions = new ExecutionService({ id: 'w1' } as never, lifecycle as never, {} as never, {} as never, {} as never, { isLapsed: () => false } as never);
    executions.drain();
    let idle = false;
    const waiting = executions.waitIdle(5000, () => held).then(() => (idle = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(idle).toBe(false); // the start may hand the job here started
    [starting, held] = [[], true];
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(idle).toBe(false); // handed over, waiting for a slot of the lane
    held = false;
    await waiting;
    expect(idle).toBe(true);
  });
});

describe('ExecutionService: a job stopped while its dependency results are read', () => {
  it('does not begin its handler', async () => {
    const handled: string[] = [];
    let readResults!: () => void;
    const job = { id: 'a', type: 'noop', attempts: 1, timeoutSeconds: 60, payload: {} };
    const lifecycle = { start: async () => ({ job, hasDependencies: true }), startingJobIds: () => [], dependencyResults: async () => [] };
    const handlers = { get: () => ({ handle: async ({ id }: { id: string }) => void handled.push(id) }) };
    const recorder = {
      read: (_what: string, _job: unknown, _attempt: number, _stopped: () => boolean, read: () => Promise<unknown>) =>
        new Promise((resolve) => (readResults = () => resolve(read()))),
      complete: async () => undefined,
      fail: async () => undefined,
      releaseIfCancelled: async () => undefined,
    };
    const executions = new ExecutionService({ id: 'w1' } as never, lifecycle as never, handlers as never, {} as never, recorder as never, { isLapsed: () => false } as never);
    const run = executions.run({ jobId: 'a', attempt: 1 } as never);
    await new Promise((resolve) => setTimeout(resolve, 10));
    executions.fence(); // the lease lapsed meanwhile
    readResults();
    await run;
    expect(handled).toEqual([]);
  });
});

describe('ExecutionService: a lease that lapsed and was renewed while the start was on its way', () => {
  it('does not begin the handler: the worker may have been declared lost and the job run elsewhere meanwhile', async () => {
    const handled: string[] = [];
    const job = { id: 'a', type: 'noop', attempts: 1, timeoutSeconds: 60, payload: {} };
    const lease = { lapses: 0, isLapsed: () => false };
    const lifecycle = { start: async () => ((lease.lapses += 1), { job, hasDependencies: false }), startingJobIds: () => [] };
    const handlers = { get: () => ({ handle: async ({ id }: { id: string }) => void handled.push(id) }) };
    const recorder = { complete: async () => undefined, fail: async () => undefined };
    const executions = new ExecutionService({ id: 'w1' } as never, lifecycle as never, handlers as never, {} as never, recorder as never, lease as never);
    await executions.run({ jobId: 'a', attempt: 1 } as never);
    expect(handled).toEqual([]);
  });
});
