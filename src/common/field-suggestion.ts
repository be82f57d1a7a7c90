/** The known name a client most likely meant by an unknown one (a field, a job type). */
import { distance } from 'fastest-levenshtein';

const words = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * The known name a client most likely meant by an unknown one, or null: the same words spelt
 * otherwise (`dependsOn`), the only known field it starts (`timeout` -> `timeout_seconds`), or a
 * typo (edit distance 1 for short names, 2 from five letters on).
 */
export function suggestField(unknown: string, known: readonly string[]): string | null {
  const given = words(unknown);
  if (given.length === 0 || known.length === 0) return null;
  const same = known.find((k) => words(k) === given);
  if (same) return same;
  if (given.length >= 3) {
    const started = known.filter((k) => words(k).startsWith(given));
    if (started.length === 1) return started[0]!;
  }
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(given, words(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= (given.length <= 4 ? 1 : 2) ? best : null;
}

