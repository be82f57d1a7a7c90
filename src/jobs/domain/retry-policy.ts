/** Retry decisions (DESIGN §3). Pure. */
export interface RetryPolicy {
  maxAttempts: number;
  backoffMultiplier: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Backoff before attempt n+1, after attempt n failed: min(initial * multiplier^(n-1), max). */
export function backoffMs(failedAttempt: number, policy: RetryPolicy): number {
  const raw = policy.initialDelayMs * Math.pow(policy.backoffMultiplier, Math.max(0, failedAttempt - 1));
  return Math.min(Number.isFinite(raw) ? raw : Number.MAX_SAFE_INTEGER, policy.maxDelayMs);
}

/** When attempt `failedAttempt` ended badly: the time of the next run, or null when attempts are exhausted. */
export function nextRunAt(failedAttempt: number, policy: RetryPolicy, now: Date): Date | null {
  if (failedAttempt >= policy.maxAttempts) return null;
  return new Date(now.getTime() + backoffMs(failedAttempt, policy));
}
