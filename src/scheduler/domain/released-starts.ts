/**
 * When a completion may start the dependents it released itself, inside its own transaction, instead
 * of leaving them to a placement pass (DESIGN §4), as pure decisions. No I/O.
 */
import { PRIORITIES } from '../../jobs/domain/job-state.js';
import type { ReadyRow } from './scheduling.js';

export interface ReleaseMoment {
  /** This process leads the scheduler. */
  leading: boolean;
  /** A placement pass is under way or asked for: the released jobs are its to place, in its order. */
  passBusy: boolean;
  /** The last pass left nothing ready behind it (drainedAfter), so no job queued before the released ones waits. */
  drained: boolean;
  /** The queue settings are current and no queue has a rule (a pass weighs the rules; this path does not). */
  withoutRules: boolean;
}

/**
 * Whether a completion may place and start the ready dependents it released: only where that takes
 * no job's turn, which is when a pass would find them alone in the ready queue and nothing to weigh.
 */
export const startsAtRelease = (m: ReleaseMoment) => m.leading && !m.passBusy && m.drained && m.withoutRules;

/** Whether a pass left the ready queue drained: it read less than a window and placed all it read. */
export const drainedAfter = (read: number, placed: number, window: number) => read < window && placed === read;

const RANK = new Map<string, number>(PRIORITIES.map((p, i) => [p, i]));

/** Released jobs in the ready queue's order: the higher priority first, then the older, then by id. */
export function inReadyOrder<J extends Pick<ReadyRow, 'id' | 'priority' | 'createdAt'>>(jobs: readonly J[]): J[] {
  return [...jobs].sort(
    (a, b) =>
      (RANK.get(b.priority) ?? 0) - (RANK.get(a.priority) ?? 0) ||
      a.createdAt.getTime() - b.createdAt.getTime() ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
