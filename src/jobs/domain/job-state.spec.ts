import { describe, expect, it } from '@jest/globals';
import {
  assertTransition,
  canMove,
  IllegalTransitionError,
  isFailedForGood,
  isRetryable,
  isTerminal,
  RETRYABLE_STATUSES,
  JOB_STATUSES,
  sourcesOf,
  type JobStatus,
} from './job-state.js';

const LEGAL: ReadonlyArray<[JobStatus, JobStatus]> = [
  ['pending', 'ready'],
  ['pending', 'blocked'],
  ['pending', 'cancelled'],
  ['blocked', 'ready'],
  ['blocked', 'pending'],
  ['blocked', 'cancelled'],
  ['ready', 'running'],
  ['ready', 'cancelled'],
  ['running', 'completed'],
  ['running', 'failed'],
  ['running', 'timeout'],
  ['running', 'cancelled'],
  ['failed', 'pending'],
  ['timeout', 'pending'],
  ['failed', 'ready'],
  ['failed', 'blocked'],
  ['timeout', 'ready'],
  ['timeout', 'blocked'],
  ['cancelled', 'ready'],
  ['cancelled', 'blocked'],
  ['cancelled', 'pending'],
];
const isLegal = (from: JobStatus, to: JobStatus) => LEGAL.some(([f, t]) => f === from && t === to);
const ALL_PAIRS = JOB_STATUSES.flatMap((from) => JOB_STATUSES.map((to) => [from, to] as [JobStatus, JobStatus]));
const ILLEGAL = ALL_PAIRS.filter(([from, to]) => !isLegal(from, to));

describe(canMove.name, () => {
  it('knows exactly 21 legal moves out of 64 pairs', () => {
    expect(LEGAL).toHaveLength(21);
    expect(ILLEGAL).toHaveLength(64 - 21);
  });

  it.each(LEGAL)('allows %s -> %s', (from, to) => expect(canMove(from, to)).toBe(true));

  it.each(ILLEGAL)('refuses %s -> %s', (from, to) => expect(canMove(from, to)).toBe(false));

  it.each([
    ['failed', 'pending', 2, true],
    ['failed', 'pending', 1, true],
    ['failed', 'pending', 0, false],
    ['timeout', 'pending', 1, true],
    ['timeout', 'pending', 0, false],
    ['running', 'completed', 0, true],
  ] as const)('%s -> %s with %i attempts left: %s', (from, to, left, ok) => expect(canMove(from, to, left)).toBe(ok));
});

describe(assertTransition.name, () => {
  it('passes a legal move', () => expect(() => assertTransition('ready', 'running')).not.toThrow());

  it('throws an IllegalTransitionError naming both states', () => {
    expect(() => assertTransition('completed', 'running')).toThrow(IllegalTransitionError);
    expect(() => assertTransition('completed', 'running')).toThrow('illegal job transition completed -> running');
  });

  it('throws for a retry with no attempts left', () =>
    expect(() => assertTransition('failed', 'pending', 0)).toThrow(IllegalTransitionError));
});

describe(isTerminal.name, () => {
  it.each(JOB_STATUSES.map((s) => [s, ['completed', 'failed', 'timeout', 'cancelled'].includes(s)] as const))(
    '%s: %s',
    (status, terminal) => expect(isTerminal(status)).toBe(terminal),
  );

  it('has no legal move out of completed, and only a manual retry out of cancelled', () =>
    JOB_STATUSES.forEach((to) => {
      expect(canMove('completed', to)).toBe(false);
      expect(canMove('cancelled', to)).toBe(to === 'ready' || to === 'blocked' || to === 'pending');
    }));
});

describe(isFailedForGood.name, () => {
  it.each([
    ['failed', true],
    ['timeout', true],
    ['cancelled', true],
    ['completed', false],
    ['running', false],
    ['pending', false],
  ] as const)('%s: %s', (status, failed) => expect(isFailedForGood(status)).toBe(failed));
});

describe(isRetryable.name, () => {
  it('re-runs exactly the jobs that ended without completing', () => {
    expect(RETRYABLE_STATUSES).toEqual(['failed', 'timeout', 'cancelled']);
    expect(JOB_STATUSES.filter(isRetryable)).toEqual(['failed', 'timeout', 'cancelled']);
  });
});

describe(sourcesOf.name, () => {
  it.each([
    ['cancelled', ['pending', 'blocked', 'ready', 'running']],
    ['ready', ['pending', 'blocked', 'failed', 'timeout', 'cancelled']],
    ['blocked', ['pending', 'failed', 'timeout', 'cancelled']],
    ['pending', ['blocked', 'failed', 'timeout', 'cancelled']],
    ['running', ['ready']],
  ] as const)('reaches %s from %j', (to, from) => expect(sourcesOf(to)).toEqual(from));
});
