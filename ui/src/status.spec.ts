import { describe, expect, it } from '@jest/globals';
import { JOB_STATUSES } from './api/types.js';
import { describeError, describeWaitingReason, formatDuration, metricSamples, relativeTime, share, STATUS_LOOK, statusLook, utcText } from './status.js';

const NOW = Date.parse('2026-01-15T10:00:00.000Z');

describe('status looks', () => {
  it('gives every status a word and a shape of its own, so none depends on colour alone', () => {
    const shapes = JOB_STATUSES.map((s) => STATUS_LOOK[s].shape);
    expect(new Set(shapes).size).toBe(JOB_STATUSES.length);
    for (const s of JOB_STATUSES) expect(STATUS_LOOK[s].label).toMatch(/^[A-Z][a-z ]+$/);
    expect(statusLook('timeout').label).toBe('Timed out');
    expect(statusLook('completed').terminal).toBe(true);
    expect(statusLook('ready').terminal).toBe(false);
    expect(statusLook('some_new_status').label).toBe('Some new status');
  });
});

describe('durations', () => {
  it('reads as a person would say them', () => {
    expect(formatDuration(4_200)).toBe('4 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(7_500_000)).toBe('2 h 5 min');
    expect(formatDuration(3 * 86_400_000)).toBe('3 d');
    expect(relativeTime('2026-01-15T10:00:05.000Z', NOW)).toBe('in 5 s');
    expect(relativeTime('2026-01-15T09:57:00.000Z', NOW)).toBe('3 min ago');
    expect(relativeTime('2026-01-15T10:00:00.300Z', NOW)).toBe('now');
  });
});

describe('waiting reasons in words', () => {
  it('INSUFFICIENT_RESOURCES names what the job needs and what the workers lack', () => {
    const text = describeWaitingReason(
      { code: 'INSUFFICIENT_RESOURCES', message: '0/2 workers fit: 2 insufficient cpu_units, 1 no free slot', lacking: { slots: 1, cpu_units: 2, memory_mb: 0 } },
      NOW,
      { cpu_units: 6, memory_mb: 512 },
    );
    expect(text).toBe('No worker has room for it now (it needs 6 cpu units and 512 MB of memory): of 2 workers, 2 workers lack cpu units, 1 worker has no free slot. It starts when room frees up.');
  });

  it('NO_WORKERS tells how to get one', () => {
    expect(describeWaitingReason({ code: 'NO_WORKERS', message: 'no worker is registered' }, NOW)).toMatch(/No worker is running: start a worker/);
    expect(describeWaitingReason({ code: 'NO_WORKERS', message: '0/2 workers accept jobs (draining or stopping)' }, NOW)).toBe(
      'No worker accepts jobs now: 0/2 workers accept jobs (draining or stopping).',
    );
  });

  it('dependencies, backoff, delays and queue rules', () => {
    expect(describeWaitingReason({ code: 'WAITING_FOR_DEPENDENCIES', message: 'waiting for 2 of 3', pending_count: 2, pending_ids: ['a', 'b'] }, NOW)).toBe(
      'Waiting for 2 dependencies to complete.',
    );
    expect(describeWaitingReason({ code: 'WAITING_FOR_DEPENDENCIES', pending_ids: ['a'] }, NOW)).toBe('Waiting for 1 dependency to complete.');
    expect(describeWaitingReason({ code: 'RETRY_BACKOFF', until: '2026-01-15T10:00:30.000Z' }, NOW)).toBe(
      'The last attempt did not succeed; it will be retried in 30 s (2026-01-15 10:00:30 UTC).',
    );
    expect(describeWaitingReason({ code: 'SCHEDULED', until: '2026-01-15T12:00:00.000Z' }, NOW)).toBe('Delayed: it may start in 2 h (2026-01-15 12:00:00 UTC).');
    expect(describeWaitingReason({ code: 'QUEUE_PAUSED' }, NOW)).toMatch(/queue is paused/);
    expect(describeWaitingReason({ code: 'CONCURRENCY_LIMIT', scope: 'key', key: 'tenant-7', limit: 2, running: 2 }, NOW)).toBe(
      'Its concurrency key "tenant-7" is at its limit (2 of 2 placed or running): it starts when one of them ends.',
    );
    expect(describeWaitingReason({ code: 'CONCURRENCY_LIMIT', scope: 'type', limit: 5, running: 5 }, NOW)).toMatch(/^Its type is at its concurrency limit \(5 of 5/);
    expect(describeWaitingReason({ code: 'RATE_LIMITED', until: '2026-01-15T10:00:02.000Z' }, NOW)).toMatch(/rate limited: the next start is allowed in 2 s/);
  });

  it('an unknown code falls back to its message, and no reason to nothing', () => {
    expect(describeWaitingReason({ code: 'SOMETHING_NEW', message: 'because' }, NOW)).toBe('Something new: because');
    expect(describeWaitingReason(null, NOW)).toBe('');
  });
});

describe('errors in words', () => {
  it('titles the known codes and keeps the message', () => {
    expect(describeError({ code: 'DEPENDENCY_FAILED', message: 'dependency x failed' })).toEqual({ title: 'A dependency did not complete', text: 'dependency x failed' });
    expect(describeError({ code: 'OUTCOME_LOST', message: 'm' })?.title).toBe('Outcome lost');
    expect(describeError(null)).toBeNull();
  });
});

describe('metric samples', () => {
  const text = [
    '# HELP draconic_jobs Jobs by status.',
    '# TYPE draconic_jobs gauge',
    'draconic_jobs{status="pending"} 3',
    'draconic_jobs{status="completed"} 1200',
    'draconic_jobs_submitted_total{type="noop"} 9',
    'draconic_scheduler_leader 1',
  ].join('\n');

  it('reads one metric by label, never a metric whose name only starts the same', () => {
    expect(metricSamples(text, 'draconic_jobs', 'status')).toEqual({ pending: 3, completed: 1200 });
    expect(metricSamples(text, 'draconic_scheduler_leader')).toEqual({ '': 1 });
    expect(metricSamples(text, 'draconic_missing')).toEqual({});
  });

  it('clamps bar shares', () => {
    expect(share(3, 4)).toBe(0.75);
    expect(share(5, 4)).toBe(1);
    expect(share(1, 0)).toBe(0);
  });

  it('writes an instant it cannot read as it came, instead of throwing while the page is drawn', () => {
    expect(utcText('2026-01-15T10:00:30.123Z')).toBe('2026-01-15 10:00:30 UTC');
    expect(utcText('not a date')).toBe('not a date');
    expect(describeWaitingReason({ code: 'RETRY_BACKOFF', until: 'soon' }, NOW)).toBe('The last attempt did not succeed; it will be retried soon (soon).');
    expect(relativeTime('soon', NOW)).toBe('soon');
  });
});
