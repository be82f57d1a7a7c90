/**
 * The guards of transition statements, rendered from the state machine (domain/job-state.ts): a
 * statement that changes a job's status states the move it performs, and its WHERE clause takes the
 * guard from here instead of naming statuses by hand. Every guard rendered is registered, so that
 * transition-guard.spec.ts checks each one against the table without a database.
 */
import type { JobStatus, Transition } from './domain/job-state.js';

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

/**
 * `column` holds one of `statuses`, as SQL: an equality for one status, so that partial indexes
 * (`WHERE status = 'ready'`, ...) still match, and `IN (...)` for several.
 */
export function statusIn(statuses: readonly JobStatus[], column = 'j.status'): string {
  if (statuses.length === 0) throw new Error('statusIn needs at least one status');
  return statuses.length === 1 ? `${column} = '${statuses[0]}'` : `${column} IN (${statuses.map((s) => `'${s}'`).join(', ')})`;
}

function register(entry: GuardedStatement): void {
  if (REGISTERED.has(entry.statement)) throw new Error(`transition statement "${entry.statement}" is registered twice`);
  REGISTERED.set(entry.statement, entry);
}

/** The WHERE guard of `statement`, which performs `move`: the job's current status is one of the move's sources. */
export function guardOf(statement: string, move: Transition, column = 'j.status'): string {
  const guard = statusIn(move.from, column);
  register({ statement, move, guard });
  return guard;
}

/** Records a further move of `statement` within the same UPDATE (no guard of its own: it starts where the guarded move ends). */
export function followedBy(statement: string, move: Transition): Transition {
  register({ statement: `${statement} -> ${move.to.join('|')}`, move, guard: null, after: statement });
  return move;
}
