/**
 * The leadership fence (DESIGN §4: one scheduler at a time), as SQL fragments shared by the
 * statements that place jobs (resources/) and the one that places and starts them (jobs/). A
 * placement carries the epoch of the term it was planned in; it writes only while that epoch is
 * current, and holds the leadership row FOR SHARE meanwhile, so a new leader's epoch increment
 * waits for placements already under way and every later one sees the new epoch. Null (an embedded
 * single process) is never fenced.
 */
export const FENCE = (epoch: string) => `fence AS (SELECT 1 FROM scheduler_leadership WHERE id = 1 AND epoch = ${epoch}::bigint FOR SHARE)`;
export const FENCED = (epoch: string) => `(${epoch}::bigint IS NULL OR EXISTS (SELECT 1 FROM fence))`;
