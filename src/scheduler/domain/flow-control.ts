/**
 * Flow control (DESIGN §12): the four queue rules as pure decisions. Whether a ready job may be
 * placed now given its queue's settings, the jobs of its type and key already placed or running,
 * and the recent starts of its type; and why not, in the words of its waiting reason. No I/O, no
 * clock: the caller passes `now`.
 */
import { QUEUE_RULE_REASONS, WAITING } from '../../common/domain/waiting-reasons.js';
import type { StartLog } from './start-log.js';

export interface RateLimit {
  limit: number;
  intervalMs: number;
}

/** A queue's settings; a type with none has no rule. */
export interface QueueRules {
  paused: boolean;
  concurrencyLimit: number | null;
  keyConcurrencyLimit: number | null;
  rateLimit: RateLimit | null;
}

export const NO_RULES: QueueRules = Object.freeze({ paused: false, concurrencyLimit: null, keyConcurrencyLimit: null, rateLimit: null });

export type FlowReasonCode = (typeof QUEUE_RULE_REASONS)[number];

export interface FlowReason {
  code: FlowReasonCode;
  message: string;
  [extra: string]: unknown;
}

/** What flow control needs of a job. */
export interface FlowJob {
  type: string;
  concurrencyKey: string | null;
}

/** The types with a rate limit. */
export const ratedTypes = (rules: ReadonlyMap<string, QueueRules>): string[] =>
  [...rules].filter(([, r]) => r.rateLimit !== null).map(([type]) => type);

/** Whether the rules constrain anything at all. */
export const hasRules = (r: QueueRules) => r.paused || r.concurrencyLimit !== null || r.keyConcurrencyLimit !== null || r.rateLimit !== null;

/** The map key of a (type, concurrency key) pair. */
export const pairKey = (type: string, key: string) => `${type}\u0000${key}`;

export { PENDING_START_MS, StartLog } from './start-log.js';

/**
 * When the next start of a rate-limited type is allowed: null if one is allowed now. With `limit`
 * starts in the window, the next one may go once the oldest of the last `limit` leaves it. A start
 * later than `now` counts too: a pass reads the clock once, and the starts its jobs' workers
 * confirm meanwhile come in at their real, later times; any start the next one can follow is later
 * still, so the window that matters holds them.
 */
export function rateLimitedUntil(rate: RateLimit, starts: readonly number[], now: number): number | null {
  const inWindow = starts.filter((t) => t > now - rate.intervalMs).sort((a, b) => a - b);
  if (inWindow.length < rate.limit) return null;
  return inWindow[inWindow.length - rate.limit]! + rate.intervalMs;
}

export interface FlowSnapshot {
  rules: ReadonlyMap<string, QueueRules>;
  /** Jobs placed or running per type (the ledger). */
  runningByType: ReadonlyMap<string, number>;
  /** Jobs placed or running per (type, key), keyed by pairKey(). */
  runningByKey: ReadonlyMap<string, number>;
  starts: StartLog;
  now: number;
}

/**
 * One placement pass's view of the rules: answers whether a job may go, and counts the jobs it lets
 * go, so that the next answers of the same pass see them. Built fresh for every pass.
 */
export class FlowGate {
  private readonly byType: Map<string, number>;
  private readonly byKey: Map<string, number>;
  /** Starts this pass has let go, per type (not yet in the start log). */
  private readonly admittedStarts = new Map<string, number>();

  constructor(private readonly s: FlowSnapshot) {
    this.byType = new Map(s.runningByType);
    this.byKey = new Map(s.runningByKey);
  }

  rulesOf(type: string): QueueRules {
    return this.s.rules.get(type) ?? NO_RULES;
  }

  /** Why `job` may not be placed now, or null when it may. Rules in order: paused, type limit, key limit, rate. */
  check(job: FlowJob): FlowReason | null {
    const rules = this.rulesOf(job.type);
    if (!hasRules(rules)) return null;
    return this.typeReason(job.type, rules) ?? this.keyReason(job, rules) ?? this.rateReason(job.type, rules);
  }

  /** Counts a job this pass places. */
  admit(job: FlowJob): void {
    this.byType.set(job.type, (this.byType.get(job.type) ?? 0) + 1);
    if (job.concurrencyKey !== null) {
      const k = pairKey(job.type, job.concurrencyKey);
      this.byKey.set(k, (this.byKey.get(k) ?? 0) + 1);
    }
    if (this.rulesOf(job.type).rateLimit) this.admittedStarts.set(job.type, (this.admittedStarts.get(job.type) ?? 0) + 1);
  }

  /**
   * What holds back every ready job of a type (paused, at its limit, out of starts) and every job of
   * a (type, key) pair at its key limit, with the reason: the ready-queue query leaves them out, so
   * they never hold back the jobs behind them, and their reasons are written in bulk.
   */
  heldBack(): { types: Map<string, FlowReason>; pairs: Map<string, { type: string; key: string; reason: FlowReason }> } {
    const types = new Map<string, FlowReason>();
    for (const [type, rules] of this.s.rules) {
      const reason = this.typeReason(type, rules) ?? this.rateReason(type, rules);
      if (reason) types.set(type, reason);
    }
    const pairs = new Map<string, { type: string; key: string; reason: FlowReason }>();
    for (const [k, running] of this.byKey) {
      const [type, key] = k.split('\u0000') as [string, string];
      if (types.has(type)) continue;
      const limit = this.rulesOf(type).keyConcurrencyLimit;
      if (limit !== null && running >= limit) pairs.set(k, { type, key, reason: keyLimitReason(type, key, limit, running) });
    }
    return { types, pairs };
  }

  /** The earliest time a rate-limited type may start again, or null when none waits for that. */
  nextRateRelease(types: Iterable<string>): number | null {
    let next: number | null = null;
    for (const type of types) {
      const rate = this.rulesOf(type).rateLimit;
      if (!rate) continue;
      const until = rateLimitedUntil(rate, this.startsOf(type, rate), this.s.now);
      if (until !== null && (next === null || until < next)) next = until;
    }
    return next;
  }

  private typeReason(type: string, rules: QueueRules): FlowReason | null {
    if (rules.paused) return { code: WAITING.QUEUE_PAUSED, message: `queue ${type} is paused`, type };
    const running = this.byType.get(type) ?? 0;
    if (rules.concurrencyLimit !== null && running >= rules.concurrencyLimit) {
      return {
        code: WAITING.CONCURRENCY_LIMIT,
        message: `${running}/${rules.concurrencyLimit} jobs of type ${type} placed or running (concurrency_limit)`,
        scope: 'type',
        type,
        key: null,
        limit: rules.concurrencyLimit,
        running,
      };
    }
    return null;
  }

  private keyReason(job: FlowJob, rules: QueueRules): FlowReason | null {
    if (rules.keyConcurrencyLimit === null || job.concurrencyKey === null) return null;
    const running = this.byKey.get(pairKey(job.type, job.concurrencyKey)) ?? 0;
    return running >= rules.keyConcurrencyLimit ? keyLimitReason(job.type, job.concurrencyKey, rules.keyConcurrencyLimit, running) : null;
  }

  private rateReason(type: string, rules: QueueRules): FlowReason | null {
    const rate = rules.rateLimit;
    if (!rate) return null;
    const until = rateLimitedUntil(rate, this.startsOf(type, rate), this.s.now);
    if (until === null) return null;
    return {
      code: WAITING.RATE_LIMITED,
      message: `${rate.limit} starts of type ${type} within ${rate.intervalMs} ms (rate_limit); next start at ${new Date(until).toISOString()}`,
      type,
      until: new Date(until).toISOString(),
      limit: rate.limit,
      interval_ms: rate.intervalMs,
    };
  }

  /** The type's starts in its window, with this pass's admitted ones counted as starting now. */
  private startsOf(type: string, rate: RateLimit): number[] {
    const logged = [...this.s.starts.window(type, rate.intervalMs, this.s.now)];
    const extra = this.admittedStarts.get(type) ?? 0;
    for (let i = 0; i < extra; i += 1) logged.push(this.s.now);
    return logged;
  }
}

function keyLimitReason(type: string, key: string, limit: number, running: number): FlowReason {
  return {
    code: WAITING.CONCURRENCY_LIMIT,
    message: `${running}/${limit} jobs of type ${type} with concurrency_key ${JSON.stringify(key)} placed or running (key_concurrency_limit)`,
    scope: 'key',
    type,
    key,
    limit,
    running,
  };
}
