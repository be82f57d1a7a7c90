import { describe, expect, it } from '@jest/globals';
import { WorkerAgent } from './worker-agent.service.js';

describe('WorkerAgent drain', () => {
  it('goes on with the drain when a write fails once (PostgreSQL restarting): the jobs are waited for, the worker marked stopped', async () => {
    const calls: string[] = [];
    let setStatusFailures = 1;
    const resources = {
      setStatus: async (_: string, status: string) => {
        if (setStatusFailures-- > 0) throw new Error('Connection terminated unexpectedly');
        calls.push(`status ${status}`);
      },
    };
    const placements = { allocatedOn: async () => [], unplace: async () => (calls.push('unplace'), []) };
    const processor = { pause: async () => void calls.push('pause'), discard: async () => void calls.push('discard') };
    const executions = { drain: () => calls.push('drain'), activeCount: 1, waitIdle: async () => (calls.push('waitIdle'), []) };
    const bus = { signal: async () => undefined };
    const config = { shutdownGraceMs: 2000 };
    const agent = new WorkerAgent(config as never, { id: 'w1' } as never, resources as never, placements as never, processor as never, executions as never, bus as never, {} as never);
    await agent.beforeApplicationShutdown();
    expect(calls).toEqual(['drain', 'status draining', 'pause', 'waitIdle', 'unplace', 'status stopped', 'discard']);
  });
});
