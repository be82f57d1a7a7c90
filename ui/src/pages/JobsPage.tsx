import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { get, query } from '../api/http.js';
import { JOB_STATUSES, PRIORITIES, type Job, type JobPage } from '../api/types.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { useLiveBatches, useThrottled } from '../live/hooks.js';
import { useNow } from '../lib/useNow.js';
import { Link, navigate, useLocation } from '../router.js';
import { relativeTime } from '../status.js';

const list = (value: string | null) => (value ? value.split(',').filter(Boolean) : []);

/** The shown jobs as the service has them now: the list's query once, and by id those no longer in its answer. */
async function freshRows(items: readonly Job[], path: string): Promise<Map<string, Job>> {
  const byId = new Map((await get<JobPage>(path)).items.map((job) => [job.id, job]));
  const alone = await Promise.all(items.filter((job) => !byId.has(job.id)).map((job) => get<Job>(`/jobs/${job.id}`).catch(() => null)));
  for (const job of alone) if (job) byId.set(job.id, job);
  return byId;
}

/** The jobs list: the REST filters (kept in the address, so a view can be shared), pages by cursor, rows updated live. */
export function JobsPage() {
  const { search } = useLocation();
  const client = useQueryClient();
  const now = useNow(1_000);
  const statuses = list(search.get('status'));
  const priorities = list(search.get('priority'));
  const type = search.get('type') ?? '';
  // The DESIGN §15 filters a link brings (a schedule's jobs, a tenant's jobs): kept as they come, shown, removable.
  const scheduleId = search.get('schedule_id') ?? '';
  const concurrencyKey = search.get('concurrency_key') ?? '';
  const cursor = search.get('cursor');
  const [typeInput, setTypeInput] = useState(type);
  // The box follows the address: a link or the back button that changes the filter changes it too.
  useEffect(() => setTypeInput(type), [type]);
  // Jobs created since the list was loaded, by id: whether each matches the filters as it stands now.
  const created = useRef(new Map<string, boolean>());
  const [fresh, setFresh] = useState(0);
  const clearFresh = () => {
    created.current.clear();
    setFresh(0);
  };
  const filters = { status: statuses, priority: priorities, type, schedule_id: scheduleId, concurrency_key: concurrencyKey };
  const key = ['jobs', statuses.join(','), priorities.join(','), type, scheduleId, concurrencyKey, cursor ?? ''];
  const path = `/jobs${query({ ...filters, cursor, limit: 50 })}`;
  const page = useQuery({ queryKey: key, queryFn: () => get<JobPage>(path), placeholderData: keepPreviousData });
  // The shown rows read again once the events of shown jobs settle, and every 10 s: an event that came
  // while the page loaded, or before an answer read earlier, is then in the rows, with worker and
  // times. The rows stay the same jobs (new ones are shown on demand).
  const reread = useThrottled(() => {
    const current = client.getQueryData<JobPage>(key);
    if (!current) return void client.invalidateQueries({ queryKey: key });
    freshRows(current.items, path).then(
      (fresh) => {
        const shown = client.getQueryData<JobPage>(key);
        if (shown) client.setQueryData<JobPage>(key, { ...shown, items: shown.items.map((job) => fresh.get(job.id) ?? job) });
      },
      () => undefined, // the next read tries again
    );
  }, 2_000);
  useEffect(() => {
    const timer = setInterval(reread, 10_000);
    return () => clearInterval(timer);
  }, [reread]);

  const setFilters = (next: { status?: string[]; priority?: string[]; type?: string; schedule_id?: string; concurrency_key?: string }) => {
    const params = { ...filters, ...next };
    clearFresh();
    navigate(`/jobs${query(params)}`, { replace: true });
  };
  const toggle = (values: string[], value: string) => (values.includes(value) ? values.filter((v) => v !== value) : [...values, value]);

  // Live rows: a shown job's status and attempt follow its events; new jobs are counted, shown on demand.
  useLiveBatches((batch) => {
    const current = client.getQueryData<JobPage>(key);
    if (!current) {
      reread();
      return;
    }
    let changed = false;
    const latest = new Map<string, (typeof batch)[number]>();
    for (const update of batch) {
      // A new job counts while it matches: one created `ready` that has already run is no longer news
      // for a list of ready jobs, and one created `ready` that starts is news for a list of running ones.
      // Events carry no schedule_id or concurrency_key: under those filters new jobs are not announced.
      if (!cursor && !scheduleId && !concurrencyKey && (update.event === 'job_created' || created.current.has(update.job_id))) {
        const matches =
          (statuses.length === 0 || statuses.includes(update.data.status)) &&
          (priorities.length === 0 || priorities.includes(update.data.priority)) &&
          (!type || type.split(',').includes(update.data.type));
        created.current.set(update.job_id, matches);
        // A page left open under a flood keeps the newest 10,000: the count stays right for the jobs it shows.
        if (created.current.size > 10_000) created.current.delete(created.current.keys().next().value!);
      }
      latest.set(update.job_id, update);
    }
    const items = current.items.map((job): Job => {
      const update = latest.get(job.id);
      if (!update || update.event === 'job_progress') return job;
      if (job.status === update.data.status && job.attempts === update.data.attempt) return job;
      changed = true;
      return { ...job, status: update.data.status as Job['status'], attempts: Math.max(job.attempts, update.data.attempt) };
    });
    if (changed) {
      client.setQueryData<JobPage>(key, { ...current, items });
      reread();
    }
    let matching = 0;
    for (const matches of created.current.values()) if (matches) matching += 1;
    setFresh(matching);
  });

  const submitType = (event: FormEvent) => {
    event.preventDefault();
    setFilters({ type: typeInput.trim() });
  };

  return (
    <section aria-labelledby="jobs-title">
      <div className="page-head">
        <h1 id="jobs-title">Jobs</h1>
      </div>
      <form className="filters" onSubmit={submitType} aria-label="Filters">
        <fieldset>
          <legend>Status</legend>
          {JOB_STATUSES.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" checked={statuses.includes(s)} onChange={() => setFilters({ status: toggle(statuses, s) })} />
              <StatusBadge status={s} />
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Priority</legend>
          {PRIORITIES.map((p) => (
            <label key={p} className="check">
              <input type="checkbox" checked={priorities.includes(p)} onChange={() => setFilters({ priority: toggle(priorities, p) })} />
              {p}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="type-filter">Type</label>
          <input id="type-filter" value={typeInput} placeholder="e.g. noop, data_fetch" onChange={(e) => setTypeInput(e.target.value)} />
          <button type="submit">Apply</button>
          {statuses.length || priorities.length || type || scheduleId || concurrencyKey ? (
            <button
              type="button"
              onClick={() => {
                setTypeInput('');
                setFilters({ status: [], priority: [], type: '', schedule_id: '', concurrency_key: '' });
              }}
            >
              Clear filters
            </button>
          ) : null}
        </div>
        {scheduleId || concurrencyKey ? (
          <ul className="chips" aria-label="Other filters" data-testid="link-filters">
            {scheduleId ? (
              <li>
                schedule <span className="mono">{scheduleId}</span>{' '}
                <button type="button" aria-label="Remove the schedule filter" onClick={() => setFilters({ schedule_id: '' })}>
                  ×
                </button>
              </li>
            ) : null}
            {concurrencyKey ? (
              <li>
                concurrency key <span className="mono">{concurrencyKey}</span>{' '}
                <button type="button" aria-label="Remove the concurrency key filter" onClick={() => setFilters({ concurrency_key: '' })}>
                  ×
                </button>
              </li>
            ) : null}
          </ul>
        ) : null}
      </form>

      {fresh > 0 ? (
        <button
          type="button"
          className="banner"
          onClick={() => {
            clearFresh();
            void page.refetch();
          }}
        >
          {fresh} new job{fresh === 1 ? '' : 's'}: show
        </button>
      ) : null}
      {page.error ? <p className="error-text">Could not list the jobs: {(page.error as Error).message}</p> : null}

      <div className="table-wrap">
        <table className="jobs">
          <caption className="sr-only">Jobs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Priority</th>
              <th scope="col" className="num">
                Attempts
              </th>
              <th scope="col">Created</th>
              <th scope="col">Worker</th>
            </tr>
          </thead>
          <tbody>
            {page.data?.items.map((job) => (
              <tr key={job.id} data-job-id={job.id}>
                <td>
                  <Link to={`/jobs/${job.id}`} className="mono">
                    {job.ref ?? job.id.slice(-12)}
                  </Link>
                </td>
                <td>{job.type}</td>
                <td>
                  <StatusBadge status={job.status} />
                </td>
                <td>{job.priority}</td>
                <td className="num" title={job.attempt_base > 0 ? `${job.attempts} runs in all, ${job.attempt_base} before the last retry` : undefined}>
                  {job.attempts - job.attempt_base}/{job.retry_config.max_attempts}
                </td>
                <td title={job.created_at}>{relativeTime(job.created_at, now)}</td>
                <td className="mono small">{job.worker_id ?? ''}</td>
              </tr>
            ))}
            {page.data && page.data.items.length === 0 ? (
              <tr>
                <td colSpan={7} className="muted">
                  No job matches.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        {cursor ? (
          <>
            <button type="button" onClick={() => navigate(`/jobs${query(filters)}`)}>
              First page
            </button>
            {/* Cursors only lead forward: the previous page is the previous entry of the tab's history. */}
            <button type="button" onClick={() => history.back()}>
              Previous
            </button>
          </>
        ) : null}
        {page.data?.next_cursor ? (
          <button type="button" onClick={() => navigate(`/jobs${query({ ...filters, cursor: page.data!.next_cursor })}`)}>
            Next
          </button>
        ) : null}
      </nav>
    </section>
  );
}
