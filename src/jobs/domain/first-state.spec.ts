import { describe, expect, it } from '@jest/globals';
import { firstState } from './first-state.js';

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
