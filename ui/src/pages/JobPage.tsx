import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, get, request } from '../api/http.js';
import type { CodedInfo, Job, JobGraph, JobUpdate } from '../api/types.js';
import { ErrorBoundary } from '../components/ErrorBoundary.js';
import { EventList } from '../components/EventList.js';
import { JsonView } from '../components/JsonView.js';
import { Field, JobLinks, other, Time } from '../components/JobFields.js';
import { LogTail } from '../components/LogTail.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { useConnection, useLiveBatches, useThrottled } from '../live/hooks.js';
import { EVENTS_KEPT, latestStatus, mergeEvents } from '../live/merge.js';
import { prewarmLayoutWorker } from '../layout-worker.js';
import { highestSequence, ReplayStopped } from '../live/replay-pages.js';
import { CHANGES_FIELDS, replay } from '../live/stream.js';
import { useNow } from '../lib/useNow.js';
import { Link } from '../router.js';
import { describeError, describeWaitingReason, humanize, RETRYABLE, statusLook } from '../status.js';

/** A refused action in words, with the service's error code (as the Schedules page shows it). */
const says = (error: Error, what: string) => (error instanceof ApiError ? `${what}: ${error.message} (${error.code}).` : `${what}: ${error.message}`);

/** React Flow and the layout library load with the first graph drawn: most pages draw none. */
const loadGraphView = () => import('../components/GraphView.js');
const GraphView = lazy(loadGraphView);

/** Fields shown in their own places; any other field the service sends is listed too. */
const SHOWN = new Set([
  'id', 'type', 'status', 'priority', 'attempts', 'attempt_base', 'retry_config', 'resource_requirements', 'timeout_seconds', 'worker_id',
  'created_at', 'updated_at', 'started_at', 'completed_at', 'next_run_at', 'run_at', 'idempotency_key', 'ref', 'depends_on',
  'dependents', 'payload', 'result', 'error', 'waiting_reason',
]);

export function JobPage({ id }: { id: string }) {
  const client = useQueryClient();
  const now = useNow(1_000);
  const { epoch } = useConnection();
  const job = useQuery({ queryKey: ['job', id], queryFn: () => get<Job>(`/jobs/${id}`) });
  const graph = useQuery({ queryKey: ['graph', id], queryFn: () => get<JobGraph>(`/jobs/${id}/graph`) });
  const [events, setEvents] = useState<JobUpdate[]>([]);
  const [statuses, setStatuses] = useState<ReadonlyMap<string, string>>(new Map());
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [missedNote, setMissedNote] = useState<string | null>(null);
  const lastSequence = useRef(0);
  /** The highest sequence whose status is shown, per job: the job's own, and each of its graph's. */
  const statusSequence = useRef(new Map<string, number>());
  // A job with dependencies or dependents has a graph: its drawing code and layout worker load while the graph is fetched.
  const linked = (job.data?.depends_on?.length ?? 0) > 0 || (job.data?.dependents?.length ?? 0) > 0;
  useEffect(() => {
    if (!linked) return;
    // A chunk that fails to load is reported where the graph is drawn (its error boundary).
    loadGraphView().catch(() => undefined);
    prewarmLayoutWorker();
  }, [linked]);
  const graphIds = useRef<Set<string>>(new Set());
  graphIds.current = useMemo(() => new Set(graph.data?.nodes.map((n) => n.id) ?? []), [graph.data]);

  const refetchJob = useThrottled(() => void client.invalidateQueries({ queryKey: ['job', id] }), 400);

  // Catch-up: the job's stored events after the last one seen, on arrival and after every reconnect.
  useEffect(() => {
    if (epoch === 0) return;
    let stop = false;
    if (epoch > 1) {
      // Back from a disconnection: the job (it may have finished meanwhile) and the graph's statuses
      // are read again whatever the replay brings, so a refused replay leaves no stale status.
      void client.invalidateQueries({ queryKey: ['job', id] });
      void client.invalidateQueries({ queryKey: ['graph', id] });
      setStatuses(new Map());
      statusSequence.current = new Map();
    }
    replay(id, lastSequence.current, () => stop, EVENTS_KEPT)
      .then((missed) => {
        if (stop) return;
        setMissedNote(null);
        if (missed.length === 0) return;
        lastSequence.current = highestSequence(lastSequence.current, missed);
        setEvents((old) => mergeEvents(old, missed));
        refetchJob();
      })
      .catch((error: unknown) => {
        if (stop || error instanceof ReplayStopped) return;
        setMissedNote(`Some events may be missing from this list (the service did not replay them: ${(error as Error).message}); reload to see them all.`);
        refetchJob();
      });
    return () => {
      stop = true;
    };
  }, [epoch, id, client, refetchJob]);

  useLiveBatches((batch) => {
    const mine: JobUpdate[] = [];
    const moved: Array<[string, string]> = [];
    const seen = statusSequence.current;
    for (const update of batch) {
      if (update.job_id === id) mine.push(update);
      // A late event (delivered after a later one of its job) does not set a status back.
      if (graphIds.current.has(update.job_id) && update.event !== 'job_progress' && update.data.sequence > (seen.get(update.job_id) ?? 0)) {
        seen.set(update.job_id, update.data.sequence);
        moved.push([update.job_id, update.data.status]);
      }
    }
    if (moved.length) setStatuses((old) => new Map([...old, ...moved]));
    if (mine.length) {
      lastSequence.current = highestSequence(lastSequence.current, mine);
      setEvents((old) => mergeEvents(old, mine));
      const current = client.getQueryData<Job>(['job', id]);
      const latest = latestStatus(seen.get(`self:${id}`) ?? 0, mine);
      if (latest) seen.set(`self:${id}`, latest.sequence);
      if (current && latest) client.setQueryData<Job>(['job', id], { ...current, status: latest.status as Job['status'] });
      if (mine.some((e) => CHANGES_FIELDS.has(e.event))) refetchJob();
    }
  });

  const cancel = useMutation({
    mutationFn: () => request<Job>('PATCH', `/jobs/${id}/cancel`),
    onSuccess: (updated) => {
      client.setQueryData(['job', id], updated);
      setNotice({ kind: 'ok', text: 'Cancelled.' });
      void client.invalidateQueries({ queryKey: ['graph', id] });
    },
    onError: (error: Error) => setNotice({ kind: 'error', text: says(error, 'Not cancelled') }),
  });
  const retry = useMutation({
    mutationFn: () => request<Job>('POST', `/jobs/${id}/retry`),
    onSuccess: (updated) => {
      client.setQueryData(['job', id], updated);
      setNotice({ kind: 'ok', text: `Queued again: now ${statusLook(updated.status).label.toLowerCase()}.` });
      void client.invalidateQueries({ queryKey: ['graph', id] });
    },
    onError: (error: Error) => setNotice({ kind: 'error', text: says(error, 'Not retried') }),
  });

  if (job.error) {
    const missing = job.error instanceof ApiError && job.error.status === 404;
    return (
      <section>
        <h1>{missing ? 'No such job' : 'Could not read the job'}</h1>
        <p>{missing ? `There is no job ${id} (it may have been deleted by retention).` : job.error.message}</p>
        <p>
          <Link to="/jobs">All jobs</Link>
        </p>
      </section>
    );
  }
  if (!job.data) return <p className="muted">Loading…</p>;
  const j = job.data;
  const look = statusLook(j.status);
  const waiting = describeWaitingReason(j.waiting_reason as CodedInfo | null, now, j.resource_requirements);
  const failure = describeError(j.error as CodedInfo | null);
  const extra = Object.entries(j).filter(([name]) => !SHOWN.has(name));

  return (
    <section aria-labelledby="job-title">
      <div className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/jobs">Jobs</Link> / <span className="mono">{j.id}</span>
          </p>
          <h1 id="job-title">
            {j.ref ?? j.type} <StatusBadge status={j.status} />
          </h1>
        </div>
        <div className="actions">
          {!look.terminal ? (
            <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
              {cancel.isPending ? 'Cancelling…' : 'Cancel job'}
            </button>
          ) : null}
          {RETRYABLE.includes(j.status) ? (
            <button type="button" disabled={retry.isPending} onClick={() => retry.mutate()}>
              {retry.isPending ? 'Retrying…' : 'Retry'}
            </button>
          ) : null}
        </div>
      </div>
      {notice ? (
        <p className={notice.kind === 'ok' ? 'ok-text' : 'error-text'} role="status">
          {notice.text}
        </p>
      ) : null}

      {waiting ? (
        <div className="callout callout-wait" role="note" aria-label="Why it waits" data-testid="waiting-reason">
          <strong>Why it is not running: </strong>
          {waiting}
          <span className="muted small"> ({String((j.waiting_reason as CodedInfo).code)})</span>
        </div>
      ) : null}
      {failure ? (
        <div className="callout callout-error" role="note" aria-label="Error" data-testid="job-error">
          <strong>{failure.title}</strong>
          {failure.text ? <>: {failure.text}</> : null}
          <span className="muted small"> ({String((j.error as CodedInfo).code)})</span>
          {Object.keys(j.error ?? {}).length > 2 ? <JsonView value={j.error} label="Error details" /> : null}
        </div>
      ) : null}

      <div className="two-col">
        <div className="card">
          <h2>Fields</h2>
          <dl className="fields">
            <Field name="id">
              <span className="mono">{j.id}</span>
            </Field>
            <Field name="type">{j.type}</Field>
            <Field name="status">
              {look.label} <span className="muted">— {look.description}</span>
            </Field>
            <Field name="priority">{j.priority}</Field>
            <Field name="attempts">
              {j.attempts - j.attempt_base} of {j.retry_config.max_attempts}
              {j.attempt_base > 0 ? <span className="muted"> since the last retry ({j.attempts} runs in all)</span> : null}
            </Field>
            <Field name="worker">{j.worker_id ? <span className="mono">{j.worker_id}</span> : <span className="muted">—</span>}</Field>
            <Field name="resources">
              {j.resource_requirements.cpu_units} cpu unit{j.resource_requirements.cpu_units === 1 ? '' : 's'}, {j.resource_requirements.memory_mb} MB
            </Field>
            <Field name="timeout">{j.timeout_seconds} s</Field>
            <Field name="retries">
              up to {j.retry_config.max_attempts} runs, backoff ×{j.retry_config.backoff_multiplier} from {j.retry_config.initial_delay_ms} ms to {j.retry_config.max_delay_ms} ms
            </Field>
            <Field name="created">
              <Time iso={j.created_at} now={now} />
            </Field>
            <Field name="updated">
              <Time iso={j.updated_at} now={now} />
            </Field>
            <Field name="started">
              <Time iso={j.started_at} now={now} />
            </Field>
            <Field name="completed">
              <Time iso={j.completed_at} now={now} />
            </Field>
            <Field name="next run">
              <Time iso={j.next_run_at} now={now} />
            </Field>
            <Field name="run at">
              <Time iso={j.run_at} now={now} />
            </Field>
            <Field name="idempotency key">{j.idempotency_key ?? <span className="muted">—</span>}</Field>
            <Field name="ref">{j.ref ?? <span className="muted">—</span>}</Field>
            {extra.map(([name, value]) => (
              <Field key={name} name={humanize(name).toLowerCase()}>
                {other(value)}
              </Field>
            ))}
            <Field name="depends on">
              <JobLinks ids={j.depends_on} />
            </Field>
            <Field name="dependents">
              <JobLinks ids={j.dependents} />
            </Field>
          </dl>
        </div>
        <div className="card">
          <h2>Payload</h2>
          <JsonView value={j.payload} label="Payload" />
          <h2>Result</h2>
          {j.result === null || j.result === undefined ? <p className="muted">No result yet.</p> : <JsonView value={j.result} label="Result" />}
        </div>
      </div>

      {graph.data && graph.data.nodes.length > 1 ? (
        <div className="card">
          <h2>
            Dependency graph <span className="muted small">({graph.data.nodes.length} jobs{graph.data.truncated ? ' of a larger graph: this job and its nearest neighbours' : ''})</span>
          </h2>
          <ErrorBoundary what="The dependency graph">
            <Suspense fallback={<p className="graph graph-pending muted">Loading the graph view…</p>}>
              <GraphView graph={graph.data} currentId={id} statuses={statuses} />
            </Suspense>
          </ErrorBoundary>
        </div>
      ) : null}

      <div className="two-col">
        <div className="card">
          <h2>Logs</h2>
          <LogTail jobId={id} active={!look.terminal} epoch={epoch} />
        </div>
        <div className="card">
          <h2>Events</h2>
          <EventList events={events} note={missedNote} />
        </div>
      </div>
    </section>
  );
}
