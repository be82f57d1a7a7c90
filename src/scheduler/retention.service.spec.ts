import { describe, expect, it } from '@jest/globals';
import type { LeaderElection } from '../leadership/leader-election.js';
import { RetentionService } from './retention.service.js';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RetentionService across a leadership change', () => {
  it('runs one pass at a time when leadership comes back while a pass is under way', async () => {
    const listeners: Array<(leader: boolean) => void> = [];
    const leader = { isLeader: () => false, onChange: (listener: (leader: boolean) => void) => listeners.push(listener) } as unknown as LeaderElection;
    const config = { retention: { completedSeconds: 60, failedSeconds: 60, batchSize: 1, pauseMs: 0, busyPercent: 100, intervalMs: 60_000 }, workerRetentionSeconds: 0 };
    let inFlight = 0;
    let mostInFlight = 0;
    const answers: Array<() => void> = [];
    const deletions = {
      deleteExpiredBatch: () => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        return new Promise<number>((resolve) => answers.push(() => ((inFlight -= 1), resolve(0))));
      },
    };
    const retention = new RetentionService(config as never, leader, deletions as never, {} as never);
    retention.onModuleInit();
    listeners[0]!(true);
    await tick(); // a batch under way
    listeners[0]!(false);
    listeners[0]!(true);
    await tick();
    expect(mostInFlight).toBe(1);
    for (const answer of answers.splice(0)) answer();
    await retention.beforeApplicationShutdown();
    expect(mostInFlight).toBe(1);
  });
});
