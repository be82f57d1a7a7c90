import { CONFLICT } from '../common/domain/error-codes.js';
import { isLostRace } from '../database/db-errors.js';

/** Skipped jobs listed in the answer (all are counted). */
const SKIPPED_LISTED = 100;

export interface BulkResult {
  matched: number;
  changed: number;
  skipped: Array<{ id: string; reason: string; code: string }>;
  /** Jobs skipped as CONFLICT (their change lost to concurrent ones every time it ran); present when there are any. */
  conflicts?: number;
}

/** The reason given for a job skipped as CONFLICT. */
const CONFLICT_REASON =
  'the change of this job lost to concurrent changes of the same jobs every time it was run (deadlock or serialization failure) and was not made: send the request again for it';

/** A transaction that lost its race as many times as retryLostRaces ran it, as thrown or wrapped by TypeORM. */
export const lostRace = (error: unknown) => isLostRace(error) || isLostRace((error as { driverError?: unknown } | null)?.driverError);

/** Tallies a bulk action: what it matched, changed and skipped (and why), and every job it moved. */
export class Tally {
  matched = 0;
  changed = 0;
  skippedCount = 0;
  conflicts = 0;
  readonly skipped: BulkResult['skipped'] = [];
  /** Jobs this action moved, those of cascades included: matched later, they count as changed. */
  readonly touched = new Set<string>();

  skip(id: string, code: string, reason: string): void {
    this.skippedCount++;
    if (this.skipped.length < SKIPPED_LISTED) this.skipped.push({ id, reason, code });
  }

  /** A job whose change lost its race every time: skipped, and counted apart, so that the answer says to send it again. */
  conflict(id: string): void {
    this.conflicts++;
    this.skip(id, CONFLICT, CONFLICT_REASON);
  }

  result(): BulkResult {
    const result: BulkResult = { matched: this.matched, changed: this.changed, skipped: this.skipped };
    if (this.conflicts > 0) result.conflicts = this.conflicts;
    return result;
  }
}
