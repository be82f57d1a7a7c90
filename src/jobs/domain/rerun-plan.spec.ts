import { describe, expect, it } from '@jest/globals';
import type { JobStatus } from './job-state.js';
import { planRerun, type RerunNode } from './rerun-plan.js';

const node = (id: string, status: JobStatus, deps: Array<[string, JobStatus]> = []): RerunNode => ({
  id,
  status,
  dependencies: deps.map(([depId, depStatus]) => ({ id: depId, status: depStatus })),
});

describe(planRerun.name, () => {
  it.each(['failed', 'timeout', 'cancelled'] as const)('re-runs a %s job without dependencies as ready', (status) => {
    expect(planRerun(node('a', status), [])).toEqual({
      ok: true,
      steps: [{ id: 'a', status: 'ready', pendingDependencies: 0, unfinished: [] }],
      kept: [],
    });
  });

  it.each(['pending', 'blocked', 'ready', 'running', 'completed'] as const)('refuses a %s job, naming its state', (status) => {
    expect(planRerun(node('a', status), [])).toEqual({ ok: false, code: 'JOB_NOT_RETRYABLE', status });
  });

  it('refuses a job whose own dependency ended without completing, naming that dependency', () => {
    const plan = planRerun(node('b', 'cancelled', [['x', 'completed'], ['a', 'failed']]), []);
    expect(plan).toEqual({ ok: false, code: 'DEPENDENCY_NOT_COMPLETED', dependencyId: 'a', dependencyStatus: 'failed' });
  });

  it('comes back blocked while a dependency is still unfinished', () => {
    const plan = planRerun(node('b', 'failed', [['x', 'completed'], ['y', 'running']]), []);
    expect(plan).toMatchObject({ ok: true, steps: [{ id: 'b', status: 'blocked', pendingDependencies: 1, unfinished: ['y'] }] });
  });

  it('resumes a chain: everything downstream comes back blocked, each waiting for the one before', () => {
    const plan = planRerun(node('a', 'failed', [['root', 'completed']]), [
      node('b', 'cancelled', [['a', 'failed']]),
      node('c', 'cancelled', [['b', 'cancelled']]),
    ]);
    expect(plan).toEqual({
      ok: true,
      steps: [
        { id: 'a', status: 'ready', pendingDependencies: 0, unfinished: [] },
        { id: 'b', status: 'blocked', pendingDependencies: 1, unfinished: ['a'] },
        { id: 'c', status: 'blocked', pendingDependencies: 1, unfinished: ['b'] },
      ],
      kept: [],
    });
  });

  it('resumes a diamond, counting completed siblings as done', () => {
    const plan = planRerun(node('left', 'failed', [['top', 'completed']]), [
      node('bottom', 'cancelled', [['left', 'failed'], ['right', 'completed']]),
    ]);
    expect(plan).toMatchObject({ ok: true, steps: [{ id: 'left', status: 'ready' }, { id: 'bottom', status: 'blocked', pendingDependencies: 1, unfinished: ['left'] }] });
  });

  it('keeps cancelled a downstream job that another failed dependency holds back, and the jobs behind it', () => {
    const plan = planRerun(node('a', 'failed'), [
      node('b', 'cancelled', [['a', 'failed'], ['other', 'timeout']]),
      node('c', 'cancelled', [['b', 'cancelled']]),
      node('d', 'cancelled', [['a', 'failed']]),
    ]);
    expect(plan).toEqual({
      ok: true,
      steps: [
        { id: 'a', status: 'ready', pendingDependencies: 0, unfinished: [] },
        { id: 'd', status: 'blocked', pendingDependencies: 1, unfinished: ['a'] },
      ],
      kept: [
        { id: 'b', dependencyId: 'other' },
        { id: 'c', dependencyId: 'b' },
      ],
    });
  });

  it('ignores downstream jobs that are no longer cancelled', () => {
    const plan = planRerun(node('a', 'failed'), [node('b', 'ready', [['a', 'failed']])]);
    expect(plan).toMatchObject({ ok: true, steps: [{ id: 'a' }], kept: [] });
  });
});

describe('planRerun of a delayed job (DESIGN §10, §13)', () => {
  const now = new Date('2026-01-15T10:00:00.000Z');
  const delayed = (id: string, status: JobStatus, runAt: string, deps: Array<[string, JobStatus]> = []): RerunNode => ({
    ...node(id, status, deps),
    runAt: new Date(runAt),
  });

  it('comes back pending while its run_at is ahead', () => {
    const plan = planRerun(delayed('a', 'cancelled', '2026-01-15T11:00:00Z'), [], now);
    expect(plan).toMatchObject({ ok: true, steps: [{ id: 'a', status: 'pending', pendingDependencies: 0 }] });
  });

  it('comes back ready once its run_at has passed', () => {
    const plan = planRerun(delayed('a', 'cancelled', '2026-01-15T09:00:00Z'), [], now);
    expect(plan).toMatchObject({ ok: true, steps: [{ id: 'a', status: 'ready' }] });
  });

  it('comes back blocked first while a dependency is unfinished, whatever its run_at', () => {
    const plan = planRerun(delayed('a', 'cancelled', '2026-01-15T11:00:00Z', [['x', 'running']]), [], now);
    expect(plan).toMatchObject({ ok: true, steps: [{ id: 'a', status: 'blocked', unfinished: ['x'] }] });
  });

  it('brings its cancelled dependents back blocked', () => {
    const plan = planRerun(delayed('a', 'cancelled', '2026-01-15T11:00:00Z'), [delayed('b', 'cancelled', '2026-01-15T11:00:00Z', [['a', 'cancelled']])], now);
    expect(plan).toMatchObject({ ok: true, steps: [{ id: 'a', status: 'pending' }, { id: 'b', status: 'blocked' }] });
  });
});
