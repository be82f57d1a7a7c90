import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { ApiError, get, getText } from '../api/http.js';
import { JOB_STATUSES, type QueueInfo, type QueueList, type Worker, type WorkerList } from '../api/types.js';
import { Bar } from '../components/Bar.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { ThroughputChart } from '../components/ThroughputChart.js';
import { useLiveBatches, useThrottled } from '../live/hooks.js';
import { useNow } from '../lib/useNow.js';
import { describeRules, isLimited } from '../queues.js';
import { Link } from '../router.js';
import { metricSamples, relativeTime } from '../status.js';

function WorkerCard({ worker, now }: { worker: Worker; now: number }) {
  const { capacity, allocated } = worker;
  return (
    <article className="card worker" aria-labelledby={`worker-${worker.id}`}>
      <header className="card-head">
        <h3 id={`worker-${worker.id}`} className="mono">
          {worker.id}
        </h3>
        <span className={`pill pill-${worker.status}`}>{worker.status}</span>
      </header>
      <p className="muted small">
        {worker.host} · pid {worker.pid} · heartbeat {relativeTime(worker.last_heartbeat_at, now)}
      </p>
      <Bar label="Slots" used={allocated.slots} capacity={capacity.max_concurrent_jobs} />
      <Bar label="CPU" used={allocated.cpu_units} capacity={capacity.max_cpu_units} unit=" units" />
      <Bar label="Memory" used={allocated.memory_mb} capacity={capacity.max_memory_mb} unit=" MB" />
      <div className="worker-jobs">
        <h4>Running ({worker.running_jobs.length})</h4>
        {worker.running_jobs.length === 0 ? (
          <p className="muted small">Nothing running.</p>
        ) : (
          <ul className="chips">
            {worker.running_jobs.slice(0, 24).map((id) => (
              <li key={id}>
                <Link to={`/jobs/${id}`} className="mono">
                  {id.slice(-12)}
                </Link>
              </li>
            ))}
            {worker.running_jobs.length > 24 ? <li className="muted">+{worker.running_jobs.length - 24} more</li> : null}
          </ul>
        )}
        {worker.placed_jobs.length > 0 ? <p className="muted small">{worker.placed_jobs.length} placed, about to start</p> : null}
      </div>
    </article>
  );
}

function QueueTable({ queues }: { queues: QueueInfo[] }) {
  const shown = JOB_STATUSES;
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">Jobs by type and status</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            {shown.map((s) => (
              <th scope="col" key={s} className="num">
                <StatusBadge status={s} />
              </th>
            ))}
            <th scope="col">Flow control</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => {
            const rules = describeRules(q);
            return (
              <tr key={q.type}>
                <th scope="row">
                  <Link to={`/jobs?type=${encodeURIComponent(q.type)}`}>{q.type}</Link>
                </th>
                {shown.map((s) => (
                  <td key={s} className="num">
                    {q.counts[s] ?? 0}
                  </td>
                ))}
                <td>{rules.length ? rules.join(', ') : <span className="muted">none</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function OverviewPage() {
  const client = useQueryClient();
  const workers = useQuery({ queryKey: ['workers'], queryFn: () => get<WorkerList>('/workers'), refetchInterval: 5_000 });
  const metrics = useQuery({ queryKey: ['metrics'], queryFn: () => getText('/metrics'), refetchInterval: 5_000 });
  // The queues endpoint gives the counts by type; an older service without it answers 404: the section is left out.
  const queues = useQuery({
    queryKey: ['queues'],
    queryFn: () => get<QueueList>('/queues'),
    refetchInterval: (q) => (q.state.error instanceof ApiError && q.state.error.status === 404 ? false : 5_000),
    retry: false,
  });
  const now = useNow(1_000);
  const events = useRef(0);
  const [rate, setRate] = useState(0);
  // The event rate over the last second, every second (0 when the stream is quiet).
  useEffect(() => {
    const timer = setInterval(() => {
      setRate(events.current);
      events.current = 0;
    }, 1_000);
    return () => clearInterval(timer);
  }, []);
  const refresh = useThrottled(() => {
    void client.invalidateQueries({ queryKey: ['workers'] });
    void client.invalidateQueries({ queryKey: ['metrics'] });
    if (!(client.getQueryState(['queues'])?.error instanceof ApiError)) void client.invalidateQueries({ queryKey: ['queues'] });
  }, 1_000);
  useLiveBatches((batch) => {
    events.current += batch.length;
    if (batch.length > 0) refresh();
  });

  const counts = metrics.data ? metricSamples(metrics.data, 'draconic_jobs', 'status') : null;
  const leader = metrics.data ? metricSamples(metrics.data, 'draconic_scheduler_leader')[''] : undefined;
  const queueList = queues.data?.items ?? [];
  const noQueues = queues.error instanceof ApiError && queues.error.status === 404;
  const limited = queueList.filter(isLimited);

  return (
    <section aria-labelledby="overview-title">
      <div className="page-head">
        <h1 id="overview-title">Overview</h1>
        <p className="muted">
          {rate} event{rate === 1 ? '' : 's'}/s · scheduler leader:{' '}
          {leader === undefined ? '…' : leader >= 1 ? 'this API instance' : 'another API instance'}
        </p>
      </div>

      <h2>Jobs by status</h2>
      {metrics.error ? <p className="error-text">Could not read the counts: {(metrics.error as Error).message}</p> : null}
      <ul className="counts" aria-label="Jobs by status">
        {JOB_STATUSES.map((s) => (
          <li key={s}>
            <Link to={`/jobs?status=${s}`} className="count-card">
              <StatusBadge status={s} />
              <span className="count" data-testid={`count-${s}`}>
                {counts ? (counts[s] ?? 0).toLocaleString() : '…'}
              </span>
            </Link>
          </li>
        ))}
      </ul>

      <h2>Throughput</h2>
      <ThroughputChart />

      {!noQueues && queueList.length > 0 ? (
        <>
          <h2>Jobs by type</h2>
          <QueueTable queues={queueList} />
          <h2>Paused or limited queues</h2>
          {limited.length === 0 ? (
            <p className="muted">Every queue runs without limits.</p>
          ) : (
            <ul className="limited-queues" data-testid="limited-queues">
              {limited.map((q) => (
                <li key={q.type}>
                  <Link to="/queues" className="mono">
                    {q.type}
                  </Link>
                  : {describeRules(q).join('; ')}
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}

      <h2>Workers</h2>
      {workers.error ? <p className="error-text">Could not read the workers: {(workers.error as Error).message}</p> : null}
      {workers.data && workers.data.items.length === 0 ? <p className="muted">No worker has registered.</p> : null}
      <div className="grid">
        {workers.data?.items.map((w) => (
          <WorkerCard key={w.id} worker={w} now={now} />
        ))}
      </div>
    </section>
  );
}
