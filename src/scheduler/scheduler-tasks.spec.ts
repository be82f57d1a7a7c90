import { describe, expect, it } from '@jest/globals';
import type { LeaderElection } from '../leadership/leader-election.js';
import { LeadershipLostError } from '../resources/placements.service.js';
import { SchedulerTasks } from './scheduler-tasks.js';

function tasksOfTerm(epoch: number): { tasks: SchedulerTasks; relinquished: string[] } {
  const relinquished: string[] = [];
  const leader = { epoch: () => epoch, relinquish: (reason: string) => relinquished.push(reason), isLeader: () => true } as unknown as LeaderElection;
  return { tasks: new SchedulerTasks(leader), relinquished };
}

describe('SchedulerTasks.relinquishedOn', () => {
  it('steps down when a statement of the current term was fenced off', () => {
    const { tasks, relinquished } = tasksOfTerm(8);
    expect(tasks.relinquishedOn(new LeadershipLostError(8))).toBe(true);
    expect(relinquished).toHaveLength(1);
  });

  it('does not step down for a statement of an earlier term of this process (it has led again since)', () => {
    const { tasks, relinquished } = tasksOfTerm(8);
    expect(tasks.relinquishedOn(new LeadershipLostError(7))).toBe(true);
    expect(relinquished).toEqual([]);
  });

  it('leaves other errors to the caller', () => {
    const { tasks, relinquished } = tasksOfTerm(8);
    expect(tasks.relinquishedOn(new Error('connection terminated'))).toBe(false);
    expect(relinquished).toEqual([]);
  });
});
