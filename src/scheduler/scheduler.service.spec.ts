import { describe, expect, it } from '@jest/globals';
import type { JobEventBus } from '../events/job-event-bus.js';
import type { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import type { LeaderElection } from '../leadership/leader-election.js';
import { Metrics } from '../metrics/metrics.js';
import type { DueTimer } from './due-timer.js';
import type { FlowControlState } from './flow-control-state.js';
import type { PlacementPass } from './placement-pass.js';
import type { Reconciler } from './reconciler.js';
import type { SchedulerTasks } from './scheduler-tasks.js';
import { SchedulerService } from './scheduler.service.js';
import type { WorkerRooms } from './worker-rooms.js';

describe('SchedulerService: the leader’s gauges when it steps down', () => {
  it('drops the workers’ capacity and allocation and the queues held, which only the leader keeps', async () => {
    let changed: (leader: boolean) => void = () => undefined;
    const leader = { onChange: (listener: (leader: boolean) => void) => (changed = listener), start: async () => undefined } as unknown as LeaderElection;
    const bus = { subscribe: () => () => undefined, onSignal: () => () => undefined } as unknown as JobEventBus;
    const stoppable = { stop: () => undefined, start: () => undefined };
    const metrics = new Metrics();
    const scheduler = new SchedulerService(
      leader,
      bus,
      metrics,
      {} as SchedulerTasks,
      {} as WorkerRooms,
      {} as FlowControlState,
      stoppable as unknown as PlacementPass,
      stoppable as unknown as DueTimer,
      stoppable as unknown as Reconciler,
      { startReleasedWith: () => undefined } as unknown as JobLifecycleService,
    );
    await scheduler.onApplicationBootstrap();
    metrics.workerCapacity.set({ worker_id: 'w1', resource: 'slots' }, 10);
    metrics.workerAllocated.set({ worker_id: 'w1', resource: 'slots' }, 6);
    metrics.queueHeld.set({ type: 'noop', reason: 'QUEUE_PAUSED' }, 1);
    changed(false);
    expect((await metrics.workerCapacity.get()).values).toEqual([]);
    expect((await metrics.workerAllocated.get()).values).toEqual([]);
    expect((await metrics.queueHeld.get()).values).toEqual([]);
    expect((await metrics.schedulerLeader.get()).values.map((v) => v.value)).toEqual([0]);
  });
});
