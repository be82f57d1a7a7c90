/**
 * The guards of transition statements, rendered from the state machine (domain/job-state.ts): a
 * statement that changes a job's status states the move it performs, and its WHERE clause takes the
 * guard from here instead of naming statuses by hand. Every guard rendered is registered, so that
 * transition-guard.spec.ts checks each one against the table without a database.
 */
import { statusAmong } from '../database/status-by-id.js';
import type { Transition } from './domain/job-state.js';

/**
 * A statement that changes jobs' status, the move it performs, and the guard its WHERE clause holds;
 * or a further move of such a statement (`after` names it), whose sources are that one's targets.
 */
export interface GuardedStatement {
  readonly statement: string;
  readonly move: Transition;
  readonly guard: string | null;
  readonly after?: string;
}

const REGISTERED = new Map<string, GuardedStatement>();

/** Every statement registered so far (those of the modules loaded). */
export function guardedStatements(): GuardedStatement[] {
  return [...REGISTERED.values()];
}

function register(entry: GuardedStatement): void {
  if (REGISTERED.has(entry.statement)) throw new Error(`transition statement "${entry.statement}" is registered twice`);
  REGISTERED.set(entry.statement, entry);
}

/** The WHERE guard of `statement`, which performs `move`: the job's current status is one of the move's sources. */
export function guardOf(statement: string, move: Transition, column = 'j.status'): string {
  // Every transition statement finds its jobs by id: the guard leaves them to the primary key.
  const guard = statusAmong(move.from, column);
  register({ statement, move, guard });
  return guard;
}

/** Records a further move of `statement` within the same UPDATE (no guard of its own: it starts where the guarded move ends). */
export function followedBy(statement: string, move: Transition): Transition {
  register({ statement: `${statement} -> ${move.to.join('|')}`, move, guard: null, after: statement });
  return move;
}
