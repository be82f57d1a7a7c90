import { describe, expect, it } from '@jest/globals';
import { WorkerAgent } from './worker-agent.service.js';

describe('WorkerAgent drain', () => {
  it('goes on with the drain when a write fails once (PostgreSQL restarting): the jobs are waited for, the worker marked stopped', async () => {
    const calls: string[] = [];
    let setStatusFailures = 1;
    const resources = {
      setStatus: async (_: string, _token: string, status: string) => {
        if (setStatusFailures-- > 0) throw new Error('Connection terminated unexpectedly');
        calls.push(`status ${status}`);
      },
    };
    const placements = { allocatedOn: async () => [], unplace: async () => (calls.push('unplace'), []) };
    const processor = { pause: async () => void calls.push('pause'), discard: async () => void calls.push('discard'), letGo: async () => void calls.push('let go') };
    const executions = { drain: () => calls.push('drain'), activeCount: 1, waitIdle: async () => (calls.push('waitIdle'), []) };
    const bus = { signal: async () => undefined };
    const config = { shutdownGraceMs: 2000 };
    const agent = new WorkerAgent(config as never, { id: 'w1' } as never, resources as never, placements as never, processor as never, executions as never, bus as never, {} as never, { drop: () => undefined } as never);
    await agent.beforeApplicationShutdown();
    expect(calls).toEqual(['drain', 'status draining', 'pause', 'waitIdle', 'unplace', 'status stopped', 'discard']);
  });
});

describe('WorkerAgent heartbeat', () => {
  it('gives up on a beat stuck on a silent connection and sends the next one, numbered, before the lease runs out', async () => {
    const { WorkerLease } = await import('./domain/worker-lease.js');
    const sent: number[] = [];
    const stuck = new Promise<never>(() => undefined);
    const resources = {
      heartbeat: (_id: string, _token: string, _executing: string[], seq: number) => {
        sent.push(seq);
        return sent.length === 1 ? stuck : Promise.resolve({ alive: true, replaced: false });
      },
    };
    const processor = { heldStartedJobIds: () => [] };
    const executions = { executingJobIds: () => [], runningJobs: () => [] };
    const lease = new WorkerLease(300); // patience: a third of it, 100 ms
    lease.renew(performance.now());
    const config = { heartbeatIntervalMs: 20 };
    let dropped = 0;
    const agent = new WorkerAgent(config as never, { id: 'w1' } as never, resources as never, {} as never, processor as never, executions as never, {} as never, lease, { drop: () => void (dropped += 1) } as never);
    const first = agent.heartbeat();
    await agent.heartbeat(); // under way: no second beat at once
    expect(sent).toEqual([1]);
    await first; // given up on after 100 ms
    expect(dropped).toBe(1); // its connection closed: the next beat opens another
    await agent.heartbeat();
    expect(sent).toEqual([1, 2]);
    expect(lease.silentFor(performance.now())).toBeLessThan(100); // renewed by the second beat
    expect(lease.isLapsed(performance.now())).toBe(false);
  });
});

describe('WorkerAgent reading cancels after a beat', () => {
  it('stops the cancelled handlers, and a read stuck behind a lock on jobs holds back neither the lease nor the next beat', async () => {
    const { WorkerLease } = await import('./domain/worker-lease.js');
    const sent: number[] = [];
    const reads: string[][] = [];
    let answerRead: (ids: string[]) => void = () => undefined;
    const resources = {
      heartbeat: async (_id: string, _token: string, _executing: string[], seq: number) => (sent.push(seq), { alive: true, replaced: false }),
      cancelledAmong: (ids: string[]) => (reads.push(ids), new Promise<string[]>((resolve) => (answerRead = resolve))),
    };
    const stopped: string[] = [];
    const processor = { heldStartedJobIds: () => [] };
    const executions = { executingJobIds: () => ['j1', 'j2'], runningJobs: () => [{ id: 'j1' }, { id: 'j2' }], stop: (id: string) => void stopped.push(id) };
    const lease = new WorkerLease(300);
    lease.renew(performance.now());
    const agent = new WorkerAgent({ heartbeatIntervalMs: 20 } as never, { id: 'w1' } as never, resources as never, {} as never, processor as never, executions as never, {} as never, lease, { drop: () => undefined } as never);
    await agent.heartbeat();
    await agent.heartbeat(); // the first read still waits: the beat goes, no second read
    expect(sent).toEqual([1, 2]);
    expect(reads).toEqual([['j1', 'j2']]);
    expect(lease.isLapsed(performance.now())).toBe(false);
    answerRead(['j2']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toEqual(['j2']);
    await agent.heartbeat();
    expect(reads).toHaveLength(2);
  });
});

describe('WorkerAgent replaced by another process under its id', () => {
  it('aborts its jobs, stops beating, and its drain writes nothing to the row, its placements or its jobs', async () => {
    const { WorkerLease } = await import('./domain/worker-lease.js');
    const calls: string[] = [];
    const resources = {
      heartbeat: async () => (calls.push('beat'), { alive: false, replaced: true }),
      setStatus: async () => void calls.push('status'),
      register: async () => (calls.push('register'), true),
    };
    const placements = { allocatedOn: async () => (calls.push('allocatedOn'), []), unplace: async () => (calls.push('unplace'), []) };
    const processor = { heldStartedJobIds: () => [], pause: async () => void calls.push('pause'), discard: async () => void calls.push('discard'), letGo: async () => void calls.push('let go') };
    const executions = {
      executingJobIds: () => ['j1'],
      runningJobs: () => [{ id: 'j1' }],
      drain: () => calls.push('drain'),
      fence: () => (calls.push('fence'), ['j1']),
      stop: () => calls.push('stop'),
      activeCount: 0,
      waitIdle: async () => (calls.push('waitIdle'), []),
    };
    const lease = new WorkerLease(10_000);
    lease.renew(performance.now());
    const config = { heartbeatIntervalMs: 1000, shutdownGraceMs: 2000 };
    const agent = new WorkerAgent(config as never, { id: 'w1', bootToken: 't1' } as never, resources as never, placements as never, processor as never, executions as never, { signal: async () => undefined } as never, lease, { drop: () => undefined } as never);
    agent.onReplaced = () => void calls.push('replaced');
    await agent.heartbeat();
    // It stops pulling from the queue (the new holder's) at once.
    expect(calls).toEqual(['beat', 'drain', 'pause', 'fence', 'replaced']);
    calls.length = 0;
    await agent.heartbeat(); // beats no more
    expect(calls).toEqual([]);
    await agent.beforeApplicationShutdown();
    // The queue is left in place for the new holder, not discarded.
    expect(calls).toEqual(['drain', 'waitIdle', 'let go']);
  });
});
