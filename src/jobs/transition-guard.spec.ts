import { describe, expect, it } from '@jest/globals';
import { canMove, IllegalTransitionError, JOB_STATUSES, sourcesOf, transition, transitionInto, type JobStatus } from './domain/job-state.js';
import { statusAmong } from '../database/status-by-id.js';
import { guardedStatements, type GuardedStatement } from './transition-guard.js';
// The modules whose statements change a job's status: loading them registers their moves and guards
// (and throws, failing this file, if one of them performs a move the table does not allow).
import './job-bulk.repository.js';
import './job-starts.repository.js';
import './job-rerun.repository.js';
import './job-transitions.repository.js';
import './job-cancellation.repository.js';

/** Every transition statement there is. A new one is added here, so that it is checked below. */
const STATEMENTS = [
  'cancel',
  'cancelDownstream',
  'cancelMany',
  'complete',
  'fail',
  'fail -> pending',
  'moveBack',
  'placeAndStart',
  'promoteDue',
  'releaseDependents',
  'start',
];

const registered = guardedStatements();
const guarded = registered.filter((s): s is GuardedStatement & { guard: string } => s.guard !== null);
const byName = new Map(registered.map((s) => [s.statement, s]));
/** The statuses a rendered guard names, in its order. */
const named = (guard: string) => [...guard.matchAll(/'([a-z]+)'/g)].map((m) => m[1]);
const edges = (s: GuardedStatement) => s.move.from.flatMap((from) => s.move.to.map((to) => [from, to] as const));

describe('transition statements', () => {
  it('registers every statement that changes a status, each once', () => {
    expect(registered.map((s) => s.statement).sort()).toEqual([...STATEMENTS].sort());
  });

  it.each(registered.map((s) => [s.statement, s] as const))('%s performs only moves of the table', (_, s) => {
    for (const [from, to] of edges(s)) expect([from, to, canMove(from, to)]).toEqual([from, to, true]);
  });

  it.each(guarded.map((s) => [s.statement, s] as const))('%s: its guard names exactly the move\'s sources', (_, s) => {
    expect(named(s.guard)).toEqual([...s.move.from]);
    for (const to of s.move.to) for (const from of s.move.from) expect(sourcesOf(to)).toContain(from);
    // Compared as text, so that only the primary key finds the rows (database/status-by-id.ts).
    if (s.move.from.length === 1) expect(s.guard).toBe(`j.status::text = '${s.move.from[0]}'`);
    else expect(s.guard).toBe(`j.status::text IN (${s.move.from.map((f) => `'${f}'`).join(', ')})`);
  });

  it.each(registered.filter((s) => s.after).map((s) => [s.statement, s] as const))('%s starts where its statement\'s guarded move ends', (_, s) => {
    const first = byName.get(s.after!);
    expect(first?.guard).toEqual(expect.any(String));
    for (const from of s.move.from) expect(first!.move.to).toContain(from);
  });

  it('cancels from every state the table moves to cancelled (PATCH /jobs/{id}/cancel and the bulk cancel)', () => {
    expect(byName.get('cancel')!.move.from).toEqual(sourcesOf('cancelled'));
    expect(byName.get('cancelMany')!.move.from).toEqual(sourcesOf('cancelled'));
    expect(byName.get('cancelMany')!.guard).toBe(`j.status::text IN ('pending', 'blocked', 'ready', 'running')`);
  });

  it('leaves the hot statements\' rows to the primary key: no index can serve their guards', () => {
    for (const name of ['start', 'placeAndStart', 'complete', 'fail', 'promoteDue', 'releaseDependents']) {
      expect(byName.get(name)!.guard).toMatch(/^j\.status::text = '[a-z]+'$/);
    }
  });
});

describe(transition.name, () => {
  const pairs = JOB_STATUSES.flatMap((from) => JOB_STATUSES.map((to) => [from, to] as [JobStatus, JobStatus]));

  it.each(pairs.filter(([f, t]) => !canMove(f, t)))('refuses %s -> %s, which the table lacks', (from, to) => {
    expect(() => transition(from, to)).toThrow(IllegalTransitionError);
    expect(() => transition([from, 'ready'], [to])).toThrow(`illegal job transition ${from} -> ${to}`);
  });

  it.each(pairs.filter(([f, t]) => canMove(f, t)))('allows %s -> %s', (from, to) => {
    expect(transition(from, to)).toEqual({ from: [from], to: [to] });
  });

  it('refuses a move with no source or no target', () => {
    expect(() => transition([], 'ready')).toThrow();
    expect(() => transition('ready', [])).toThrow();
    expect(() => transitionInto('pending')).not.toThrow();
  });

  it('takes every source of a status with transitionInto', () => {
    expect(transitionInto('ready')).toEqual({ from: ['pending', 'blocked', 'failed', 'timeout', 'cancelled'], to: ['ready'] });
  });
});

describe(statusAmong.name, () => {
  it('renders one status as an equality and several as IN, as text, on the column asked', () => {
    expect(statusAmong(['running'])).toBe(`j.status::text = 'running'`);
    expect(statusAmong(['pending', 'blocked'], 'status')).toBe(`status::text IN ('pending', 'blocked')`);
    expect(() => statusAmong([])).toThrow();
  });
});
