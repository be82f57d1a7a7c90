/**
 * Queue settings in words and the limits form's values as a PATCH body. Pure: no DOM, no React.
 * The form checks nothing itself: the service validates, and its message is what the user reads.
 */
import type { QueueInfo, QueuePatch } from './api/types.js';
import { formatDuration } from './status.js';

/** The queue's rules as short phrases ("paused", "at most 5 at once", ...): empty when it runs freely. */
export function describeRules(queue: Pick<QueueInfo, 'paused' | 'concurrency_limit' | 'key_concurrency_limit' | 'rate_limit'>): string[] {
  const rules: string[] = [];
  if (queue.paused) rules.push('paused: no new job starts');
  if (queue.concurrency_limit !== null) rules.push(`at most ${queue.concurrency_limit} at once`);
  if (queue.key_concurrency_limit !== null) rules.push(`at most ${queue.key_concurrency_limit} at once per concurrency key`);
  if (queue.rate_limit) rules.push(`at most ${queue.rate_limit.limit} ${queue.rate_limit.limit === 1 ? 'start' : 'starts'} ${per(queue.rate_limit.interval_ms)}`);
  return rules;
}

/** 1000 -> "a second", 60000 -> "a minute", 1500 -> "every 1500 ms". */
function per(ms: number): string {
  if (ms === 1_000) return 'a second';
  if (ms === 60_000) return 'a minute';
  if (ms === 3_600_000) return 'an hour';
  if (ms % 1_000 === 0) return `in any ${formatDuration(ms)}`;
  return `in any ${ms} ms`;
}

export function isLimited(queue: Pick<QueueInfo, 'paused' | 'concurrency_limit' | 'key_concurrency_limit' | 'rate_limit'>): boolean {
  return describeRules(queue).length > 0;
}

/** What the limits form holds: the text of each field (empty = no limit). */
export interface LimitsForm {
  concurrency_limit: string;
  key_concurrency_limit: string;
  rate_limit: string;
  rate_interval_ms: string;
}

export function formOf(queue: Pick<QueueInfo, 'concurrency_limit' | 'key_concurrency_limit' | 'rate_limit'>): LimitsForm {
  const text = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));
  return {
    concurrency_limit: text(queue.concurrency_limit),
    key_concurrency_limit: text(queue.key_concurrency_limit),
    rate_limit: text(queue.rate_limit?.limit),
    rate_interval_ms: text(queue.rate_limit?.interval_ms),
  };
}

/**
 * A field's text as it goes on the wire: empty is null (no limit), a number is that number, anything
 * else is sent as typed so that the service's message names what is wrong with it.
 */
function wire(text: string): number | string | null {
  const t = text.trim();
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** The PATCH body for the form: every limit, so what the form shows is what the queue gets. */
export function limitsPatch(form: LimitsForm): QueuePatch {
  const limit = wire(form.rate_limit);
  const interval = wire(form.rate_interval_ms);
  const rate =
    limit === null && interval === null
      ? null
      : // A half-filled rate limit goes as it is: the service says which half is missing.
        ({ ...(limit !== null ? { limit } : {}), ...(interval !== null ? { interval_ms: interval } : {}) } as QueuePatch['rate_limit']);
  return {
    concurrency_limit: wire(form.concurrency_limit) as number | null,
    key_concurrency_limit: wire(form.key_concurrency_limit) as number | null,
    rate_limit: rate,
  };
}
