// Small statistics helpers for the benchmarks (no dependencies).

/** Finite numbers of `values`, sorted ascending (a copy). */
function sortedFinite(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
}

/**
 * The p-th percentile (0..100) of `values`, linear interpolation between closest ranks
 * (same as numpy's default). NaN when there is no finite value.
 */
export function percentile(values, p) {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in 0..100, got ${p}`);
  const s = sortedFinite(values);
  if (s.length === 0) return NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

/** The median of `values` (mean of the two middle values for an even count). */
export function median(values) {
  return percentile(values, 50);
}

export function mean(values) {
  const s = sortedFinite(values);
  return s.length === 0 ? NaN : s.reduce((a, b) => a + b, 0) / s.length;
}

export function min(values) {
  const s = sortedFinite(values);
  return s.length === 0 ? NaN : s[0];
}

export function max(values) {
  const s = sortedFinite(values);
  return s.length === 0 ? NaN : s[s.length - 1];
}
