import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { ApiError, get, request } from '../api/http.js';
import { JOB_STATUSES, type QueueInfo, type QueueList, type QueuePatch } from '../api/types.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { useLiveBatches, useThrottled } from '../live/hooks.js';
import { useNow } from '../lib/useNow.js';
import { describeRules, formOf, limitsPatch, type LimitsForm } from '../queues.js';
import { Link } from '../router.js';
import { relativeTime } from '../status.js';

type Notice = { kind: 'ok' | 'error'; text: string } | null;

/** One PATCH /queues/{type}; the answer replaces the queue in the cached list. */
function useQueuePatch(type: string, setNotice: (notice: Notice) => void, done: (queue: QueueInfo) => string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (patch: QueuePatch) => request<QueueInfo>('PATCH', `/queues/${encodeURIComponent(type)}`, patch),
    onSuccess: (queue) => {
      client.setQueryData<QueueList>(['queues'], (list) => (list ? { items: list.items.map((q) => (q.type === queue.type ? queue : q)) } : list));
      setNotice({ kind: 'ok', text: done(queue) });
    },
    onError: (error: Error) => setNotice({ kind: 'error', text: error instanceof ApiError ? `Not saved: ${error.message}.` : `Not saved: ${error.message}` }),
  });
}

const FIELDS: Array<{ name: keyof LimitsForm; label: string; hint: string }> = [
  { name: 'concurrency_limit', label: 'At most at once', hint: 'jobs of this type placed or running, across all workers' },
  { name: 'key_concurrency_limit', label: 'At most at once per key', hint: 'per distinct concurrency_key' },
  { name: 'rate_limit', label: 'Starts allowed', hint: 'at most this many starts in any window' },
  { name: 'rate_interval_ms', label: 'Window (ms)', hint: 'the window, in milliseconds (at least 100)' },
];

function LimitsEditor({ queue, onClose }: { queue: QueueInfo; onClose: () => void }) {
  const id = useId();
  const [form, setForm] = useState<LimitsForm>(() => formOf(queue));
  const [notice, setNotice] = useState<Notice>(null);
  const save = useQueuePatch(queue.type, setNotice, (q) => {
    const rules = describeRules({ ...q, paused: false });
    return `Saved: ${rules.length ? rules.join(', ') : 'no limits'}.`;
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(limitsPatch(form));
  };
  return (
    <form className="limits" onSubmit={submit} noValidate aria-label={`Limits of ${queue.type}`}>
      <p className="muted small">Leave a field empty for no limit. The scheduler applies a change within a second.</p>
      <div className="limits-fields">
        {FIELDS.map((field) => (
          <div key={field.name} className="limit-field">
            <label htmlFor={`${id}-${field.name}`}>{field.label}</label>
            <input
              id={`${id}-${field.name}`}
              name={field.name}
              inputMode="numeric"
              autoComplete="off"
              value={form[field.name]}
              aria-describedby={`${id}-${field.name}-hint`}
              onChange={(event) => setForm({ ...form, [field.name]: event.target.value })}
            />
            <span id={`${id}-${field.name}-hint`} className="muted small">
              {field.hint}
            </span>
          </div>
        ))}
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save limits'}
        </button>
        <button type="button" onClick={() => setForm({ concurrency_limit: '', key_concurrency_limit: '', rate_limit: '', rate_interval_ms: '' })}>
          Clear fields
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <p className={notice?.kind === 'error' ? 'error-text' : 'ok-text'} role="status" aria-live="polite" data-testid={`limits-notice-${queue.type}`}>
        {notice?.text ?? ''}
      </p>
    </form>
  );
}

function QueueCard({ queue, now }: { queue: QueueInfo; now: number }) {
  const [editing, setEditing] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const toggle = useQueuePatch(queue.type, setNotice, (q) => (q.paused ? 'Paused: no new job of this type starts.' : 'Resumed.'));
  const rules = describeRules(queue);
  const waiting = (queue.counts.pending ?? 0) + (queue.counts.blocked ?? 0) + (queue.counts.ready ?? 0);
  const headingId = `queue-${queue.type}`;
  return (
    <article className="card queue" aria-labelledby={headingId} data-queue={queue.type}>
      <header className="card-head">
        <h2 id={headingId} className="mono">
          {queue.type}
        </h2>
        <span className={`pill ${queue.paused ? 'pill-paused' : 'pill-active'}`} data-testid={`queue-state-${queue.type}`}>
          {queue.paused ? '❚❚ Paused' : '▶ Accepting'}
        </span>
      </header>
      <p data-testid={`queue-rules-${queue.type}`}>{rules.length ? `${rules.join('; ')}.` : <span className="muted">No limits.</span>}</p>
      <ul className="queue-counts" aria-label={`Jobs of ${queue.type} by status`}>
        {JOB_STATUSES.map((s) => (
          <li key={s}>
            <Link to={`/jobs?type=${encodeURIComponent(queue.type)}&status=${s}`}>
              <StatusBadge status={s} /> <span className="num">{(queue.counts[s] ?? 0).toLocaleString()}</span>
            </Link>
          </li>
        ))}
      </ul>
      <p className="muted small">
        {waiting.toLocaleString()} waiting
        {queue.oldest_ready_at ? ` · oldest ready since ${relativeTime(queue.oldest_ready_at, now)}` : ''}
      </p>
      <div className="actions">
        <button type="button" className={queue.paused ? 'primary' : undefined} disabled={toggle.isPending} onClick={() => toggle.mutate({ paused: !queue.paused })}>
          {queue.paused ? 'Resume' : 'Pause'} <span className="sr-only">{queue.type}</span>
        </button>
        <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
          Edit limits <span className="sr-only">of {queue.type}</span>
        </button>
      </div>
      {notice ? (
        <p className={notice.kind === 'ok' ? 'ok-text' : 'error-text'} role="status">
          {notice.text}
        </p>
      ) : null}
      {editing ? <LimitsEditor queue={queue} onClose={() => setEditing(false)} /> : null}
    </article>
  );
}

export function QueuesPage() {
  const client = useQueryClient();
  const queues = useQuery({ queryKey: ['queues'], queryFn: () => get<QueueList>('/queues'), refetchInterval: 5_000 });
  const now = useNow(1_000);
  const refresh = useThrottled(() => void client.invalidateQueries({ queryKey: ['queues'] }), 1_000);
  useLiveBatches((batch) => {
    if (batch.length > 0) refresh();
  });
  return (
    <section aria-labelledby="queues-title">
      <div className="page-head">
        <h1 id="queues-title">Queues</h1>
        <p className="muted">
          One queue per job type: pause it, or limit how many of its jobs run at once and how fast they start.
        </p>
      </div>
      {queues.error ? <p className="error-text">Could not read the queues: {(queues.error as Error).message}</p> : null}
      {!queues.data && !queues.error ? <p className="muted">Loading…</p> : null}
      <div className="grid queues">
        {queues.data?.items.map((q) => (
          <QueueCard key={q.type} queue={q} now={now} />
        ))}
      </div>
    </section>
  );
}
