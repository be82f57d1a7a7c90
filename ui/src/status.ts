/**
 * Words for what the service reports: status names and their shapes (so a status never depends on
 * colour alone), waiting reasons and errors in plain language, durations, the Prometheus counters
 * the overview reads. Pure: no DOM, no React (unit-tested alone).
 */
import type { CodedInfo, JobStatus } from './api/types.js';

export type StatusShape = 'circle' | 'square' | 'ring' | 'play' | 'check' | 'cross' | 'hourglass' | 'slash';

export interface StatusLook {
  label: string;
  /** The glyph drawn beside the colour. */
  shape: StatusShape;
  /** What the status means, for a tooltip and screen readers. */
  description: string;
  terminal: boolean;
}

export const STATUS_LOOK: Record<JobStatus, StatusLook> = {
  pending: { label: 'Pending', shape: 'circle', description: 'accepted, or waiting for a delay or a retry backoff', terminal: false },
  blocked: { label: 'Blocked', shape: 'square', description: 'waiting for its dependencies', terminal: false },
  ready: { label: 'Ready', shape: 'ring', description: 'waiting for a worker with room', terminal: false },
  running: { label: 'Running', shape: 'play', description: 'running on a worker', terminal: false },
  completed: { label: 'Completed', shape: 'check', description: 'finished successfully', terminal: true },
  failed: { label: 'Failed', shape: 'cross', description: 'failed, no attempts left', terminal: true },
  timeout: { label: 'Timed out', shape: 'hourglass', description: 'ran out of time, no attempts left', terminal: true },
  cancelled: { label: 'Cancelled', shape: 'slash', description: 'cancelled', terminal: true },
};

export function statusLook(status: string): StatusLook {
  return (STATUS_LOOK as Record<string, StatusLook | undefined>)[status] ?? { label: humanize(status), shape: 'circle', description: status, terminal: false };
}

/** Statuses from which the retry endpoint re-runs a job (DESIGN §13). */
export const RETRYABLE: readonly string[] = ['failed', 'timeout', 'cancelled'];

/** "INSUFFICIENT_RESOURCES" -> "Insufficient resources". */
export function humanize(code: string): string {
  const words = code.replace(/[_-]+/g, ' ').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** 0 -> "now", 4_200 -> "4 s", 185_000 -> "3 min 5 s", 7_500_000 -> "2 h 5 min", days likewise. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const s = Math.round(Math.abs(ms) / 1000);
  if (s === 0) return Math.abs(ms) < 1 ? 'now' : `${Math.max(1, Math.round(Math.abs(ms)))} ms`;
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** When an ISO instant is relative to `now`: "in 5 s", "3 min ago". */
export function relativeTime(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const delta = at - now;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(delta)} ago`;
}

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const str = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** An ISO instant as "2026-01-02 03:04:05 UTC"; text that is no instant is returned as it is (never a throw: it is drawn). */
export function utcText(iso: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return new Date(at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function until(reason: CodedInfo, now: number): string | null {
  const at = str(reason.until);
  return at ? `${relativeTime(at, now)} (${utcText(at)})` : null;
}

/** The resources a job asks for, when known: the wording of INSUFFICIENT_RESOURCES names them. */
export interface Requirements {
  cpu_units: number;
  memory_mb: number;
}

/**
 * A `waiting_reason` as a sentence a user reads without the docs (DESIGN §2, §10, §12), e.g.
 * "No worker has room for it now (it needs 4 cpu units and 512 MB): of 2 workers, 2 lack cpu units."
 */
export function describeWaitingReason(reason: CodedInfo | null | undefined, now: number, needs?: Requirements): string {
  if (!reason) return '';
  const code = str(reason.code) ?? '';
  const message = str(reason.message);
  switch (code) {
    case 'WAITING_FOR_DEPENDENCIES': {
      const pendingCount = num(reason.pending_count) ?? (Array.isArray(reason.pending_ids) ? reason.pending_ids.length : null);
      return pendingCount === null
        ? 'Waiting for its dependencies to complete.'
        : `Waiting for ${plural(pendingCount, 'dependency', 'dependencies')} to complete.`;
    }
    case 'RETRY_BACKOFF': {
      const when = until(reason, now);
      return `The last attempt did not succeed; it will be retried ${when ?? 'after a backoff'}.`;
    }
    case 'SCHEDULED': {
      const when = until(reason, now);
      return `Delayed: it may start ${when ?? 'later'}.`;
    }
    case 'QUEUE_PAUSED':
      return 'Its queue is paused: no job of this type starts until the queue is resumed.';
    case 'CONCURRENCY_LIMIT': {
      const limit = num(reason.limit);
      const running = num(reason.running);
      const of = limit !== null ? ` (${running ?? limit} of ${limit} placed or running)` : '';
      return reason.scope === 'key'
        ? `Its concurrency key${str(reason.key) ? ` "${str(reason.key)}"` : ''} is at its limit${of}: it starts when one of them ends.`
        : `Its type is at its concurrency limit${of}: it starts when one of them ends.`;
    }
    case 'RATE_LIMITED': {
      const when = until(reason, now);
      return `Its type is rate limited: the next start is allowed ${when ?? 'soon'}.`;
    }
    case 'NO_WORKERS':
      return message === 'no worker is registered' || !message
        ? 'No worker is running: start a worker (ROLE=worker or ROLE=all) and it will be placed.'
        : `No worker accepts jobs now: ${message}.`;
    case 'INSUFFICIENT_RESOURCES': {
      const lacking = (typeof reason.lacking === 'object' && reason.lacking !== null ? reason.lacking : {}) as Record<string, unknown>;
      const parts: string[] = [];
      const cpu = num(lacking.cpu_units);
      const memory = num(lacking.memory_mb);
      const slots = num(lacking.slots);
      if (cpu) parts.push(`${plural(cpu, 'worker')} ${cpu === 1 ? 'lacks' : 'lack'} cpu units`);
      if (memory) parts.push(`${plural(memory, 'worker')} ${memory === 1 ? 'lacks' : 'lack'} memory`);
      if (slots) parts.push(`${plural(slots, 'worker')} ${slots === 1 ? 'has' : 'have'} no free slot`);
      const total = /^0\/(\d+)/.exec(message ?? '')?.[1];
      const need = needs ? ` (it needs ${plural(needs.cpu_units, 'cpu unit')} and ${needs.memory_mb} MB of memory)` : '';
      const detail = parts.length ? `: ${total ? `of ${plural(Number(total), 'worker')}, ` : ''}${parts.join(', ')}` : '';
      return `No worker has room for it now${need}${detail}. It starts when room frees up.`;
    }
    default:
      return message ? `${humanize(code || 'waiting')}: ${message}` : humanize(code || 'waiting');
  }
}

/** A job's `error` as a heading and a sentence. */
export function describeError(error: CodedInfo | null | undefined): { title: string; text: string } | null {
  if (!error) return null;
  const code = str(error.code) ?? 'ERROR';
  const message = str(error.message) ?? '';
  const titles: Record<string, string> = {
    HANDLER_ERROR: 'The handler failed',
    TIMEOUT: 'It ran out of time',
    WORKER_LOST: 'Its worker was lost',
    DEPENDENCY_FAILED: 'A dependency did not complete',
    CANCELLED_BY_USER: 'Cancelled by a user',
    SUPERSEDED_BY_SCHEDULE: 'Superseded by a newer run of its schedule',
  };
  return { title: titles[code] ?? humanize(code), text: message };
}

/**
 * The samples of one metric in Prometheus' text format, keyed by the value of one label
 * (or '' for a metric without labels): `draconic_jobs{status="ready"} 3` -> {ready: 3}.
 */
export function metricSamples(text: string, name: string, label?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const value = Number(match[4]);
    if (Number.isNaN(value)) continue;
    let key = '';
    if (label) {
      const found = new RegExp(`(?:^|,)\\s*${label}="((?:[^"\\\\]|\\\\.)*)"`).exec(match[3] ?? '');
      if (!found) continue;
      key = found[1]!.replace(/\\(.)/g, '$1');
    }
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

/** A bar's share, clamped to 0..1 (a worker over-booked after a restart still draws a full bar). */
export function share(used: number, capacity: number): number {
  if (!(capacity > 0)) return 0;
  return Math.min(1, Math.max(0, used / capacity));
}
