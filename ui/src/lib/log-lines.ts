import type { JobLog } from '../api/types.js';

/** How many of a job's log lines the tail keeps. */
export const LINES_KEPT = 5_000;

/**
 * A job's log lines with those of a page read again merged in: each line once (by id), in id order,
 * the latest `keep`. A job's lines are written by concurrent transactions (its handler's log batches,
 * its progress and its transitions), so a line may commit after one with a higher id was read: the
 * tail reads its last page again, and such a line is placed where its id puts it rather than dropped
 * for being below the highest id seen. Returns `lines` itself when nothing is new. Pure.
 */
export function mergeLogLines(lines: readonly JobLog[], page: readonly JobLog[], keep = LINES_KEPT): readonly JobLog[] {
  if (page.length === 0) return lines;
  const seen = new Set(lines.map((line) => line.id));
  const fresh = page.filter((line) => !seen.has(line.id));
  if (fresh.length === 0) return lines;
  const last = lines.length > 0 ? BigInt(lines[lines.length - 1]!.id) : -1n;
  let merged = [...lines, ...fresh];
  if (fresh.some((line) => BigInt(line.id) < last)) merged.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
  if (merged.length > keep) merged = merged.slice(-keep);
  return merged;
}
