import { describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import type { AppConfig } from '../config/app-config.js';
import type { JobEventBus } from '../events/job-event-bus.js';
import type { PlacementsService } from '../resources/placements.service.js';
import type { ResourcesService } from '../resources/resources.service.js';
import type { ExecutionProcessor } from './execution.processor.js';
import type { ExecutionService } from './execution.service.js';
import { WorkerAgent } from './worker-agent.service.js';
import type { WorkerIdentity } from './worker-identity.js';
import { WorkerLease } from './domain/worker-lease.js';

/**
 * The agent's answer to a heartbeat the database refused (the worker is no longer active or
 * draining). Its collaborators record calls instead of talking to PostgreSQL, Redis or a queue.
 */
function agentWithRefusedHeartbeats(lease = new WorkerLease(60_000)) {
  const calls: string[] = [];
  const resources = {
    register: async () => void calls.push('register'),
    heartbeat: async () => false,
    setStatus: async (_id: string, status: string) => void calls.push(`status:${status}`),
  } as unknown as ResourcesService;
  const executions = {
    runningJobs: () => [],
    executingJobIds: () => [],
    fence: () => {
      calls.push('fence');
      return ['j1'];
    },
    stop: () => undefined,
    waitIdle: async () => [],
  } as unknown as ExecutionService;
  const agent = new WorkerAgent(
    { heartbeatIntervalMs: 60_000, shutdownGraceMs: 10 } as AppConfig,
    { id: 'w1' } as WorkerIdentity,
    resources,
    { allocatedOn: async () => [], unplace: async () => [] } as unknown as PlacementsService,
    { pause: async () => undefined, discard: async () => undefined, heldStartedJobIds: () => [] } as unknown as ExecutionProcessor,
    executions,
    { signal: async () => undefined } as unknown as JobEventBus,
    lease,
  );
  const beat = () => agent.heartbeat();
  return { agent, calls, beat };
}

describe(WorkerAgent.name, () => {
  it('registers again when it was declared lost while running', async () => {
    const { calls, beat } = agentWithRefusedHeartbeats();
    await beat();
    expect(calls).toEqual(['register']);
  });

  it('never registers again once shutdown has begun (a beat that lands after "stopped" is refused too)', async () => {
    const { agent, calls, beat } = agentWithRefusedHeartbeats();
    await agent.beforeApplicationShutdown();
    expect(calls).toEqual(['status:draining', 'status:stopped']);
    await beat();
    expect(calls).toEqual(['status:draining', 'status:stopped']);
  });

  it('fences itself before its first heartbeat after a pause longer than its lease, and once per lapse', async () => {
    const lease = new WorkerLease(1000);
    lease.renew(performance.now() - 5000); // the last accepted heartbeat, sent before a 5 s pause
    const { agent, calls, beat } = agentWithRefusedHeartbeats(lease);
    await beat();
    expect(calls).toEqual(['fence', 'register']); // aborted first, then told by PostgreSQL that it was lost
    agent.checkLease();
    expect(calls).toEqual(['fence', 'register']); // registering renewed the lease
  });
});
