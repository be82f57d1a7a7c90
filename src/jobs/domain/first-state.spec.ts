import { describe, expect, it } from '@jest/globals';
import { afterDependencies, firstState } from './first-state.js';

describe(firstState.name, () => {
  it('is ready with no dependencies', () =>
    expect(firstState([])).toEqual({ status: 'ready', pendingDependencies: 0, unfinished: [], error: null }));

  it('is ready when every dependency completed', () =>
    expect(firstState([{ id: 'a', status: 'completed' }]).status).toBe('ready'));

  it.each(['pending', 'blocked', 'ready', 'running'] as const)('is blocked by a %s dependency, counting it', (status) =>
    expect(firstState([{ id: 'a', status: 'completed' }, { id: 'b', status }])).toEqual({
      status: 'blocked',
      pendingDependencies: 1,
      unfinished: ['b'],
      error: null,
    }));

  it.each(['failed', 'timeout', 'cancelled'] as const)('is cancelled by a %s dependency, naming it', (status) =>
    expect(firstState([{ id: 'a', status: 'running' }, { id: 'b', status }])).toMatchObject({
      status: 'cancelled',
      error: { code: 'DEPENDENCY_FAILED', dependency_id: 'b', root_id: 'b' },
    }));

  it('carries the root of a cascade', () =>
    expect(firstState([{ id: 'b', status: 'cancelled', rootId: 'root' }]).error).toMatchObject({ dependency_id: 'b', root_id: 'root' }));
});

describe('firstState with a run_at (DESIGN §10)', () => {
  const now = new Date('2026-01-15T10:00:00.000Z');
  const later = new Date('2026-01-15T10:00:00.001Z');
  const earlier = new Date('2026-01-15T09:59:59.999Z');

  it('is pending while the run_at is ahead', () =>
    expect(firstState([], later, now)).toEqual({ status: 'pending', pendingDependencies: 0, unfinished: [], error: null }));

  it.each([
    ['in the past', earlier],
    ['exactly now', now],
  ])('is ready when the run_at is %s (as soon as possible)', (_, runAt) => expect(firstState([], runAt, now).status).toBe('ready'));

  it('is pending when its dependencies all completed and the run_at is ahead', () =>
    expect(firstState([{ id: 'a', status: 'completed' }], later, now).status).toBe('pending'));

  it('is blocked first while a dependency is unfinished, whatever the run_at', () =>
    expect(firstState([{ id: 'a', status: 'running' }], later, now)).toMatchObject({ status: 'blocked', unfinished: ['a'] }));

  it('is cancelled by a failed dependency, whatever the run_at', () =>
    expect(firstState([{ id: 'a', status: 'failed' }], later, now).status).toBe('cancelled'));
});

describe(afterDependencies.name, () => {
  const now = new Date('2026-01-15T10:00:00.000Z');
  it('waits pending for a run_at ahead', () => expect(afterDependencies(new Date('2026-01-15T10:00:01Z'), now)).toBe('pending'));
  it('is ready without a run_at or with one reached', () => {
    expect(afterDependencies(null, now)).toBe('ready');
    expect(afterDependencies(now, now)).toBe('ready');
  });
});
