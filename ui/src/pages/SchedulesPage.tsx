import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { ApiError, get, request } from '../api/http.js';
import type { Job, Schedule, SchedulePage, SchedulePatch } from '../api/types.js';
import { useThrottled } from '../live/hooks.js';
import { onScheduleUpdate } from '../live/stream.js';
import { useNow } from '../lib/useNow.js';
import { Link } from '../router.js';
import { createBody, describeCron } from '../schedules.js';
import { relativeTime, utcText as utc } from '../status.js';

type Notice = { kind: 'ok' | 'error'; text: string; jobId?: string } | null;

const says = (error: Error, what: string) => (error instanceof ApiError ? `${what}: ${error.message} (${error.code}).` : `${what}: ${error.message}`);
const path = (s: { name: string }) => `/schedules/${encodeURIComponent(s.name)}`;

function ScheduleRow({ schedule, now }: { schedule: Schedule; now: number }) {
  const client = useQueryClient();
  const [notice, setNotice] = useState<Notice>(null);
  const refresh = () => void client.invalidateQueries({ queryKey: ['schedules'] });
  const toggle = useMutation({
    mutationFn: (patch: SchedulePatch) => request<Schedule>('PATCH', path(schedule), patch),
    onSuccess: (s) => {
      setNotice({ kind: 'ok', text: s.paused ? 'Paused: its ticks create no job.' : 'Resumed.' });
      refresh();
    },
    onError: (error: Error) => setNotice({ kind: 'error', text: says(error, 'Not saved') }),
  });
  const trigger = useMutation({
    mutationFn: () => request<Job>('POST', `${path(schedule)}/trigger`),
    onSuccess: (job) => {
      setNotice({ kind: 'ok', text: 'Triggered: job ', jobId: job.id });
      refresh();
    },
    onError: (error: Error) => setNotice({ kind: 'error', text: says(error, 'Not triggered') }),
  });
  const words = describeCron(schedule.cron, schedule.timezone);
  const type = typeof schedule.job.type === 'string' ? schedule.job.type : '';
  return (
    <tr data-schedule={schedule.name}>
      <th scope="row" className="mono wrap-anywhere">
        {schedule.name}
      </th>
      <td>
        <span data-testid={`schedule-words-${schedule.name}`}>{words.ok ? words.text : `${schedule.cron} (${schedule.timezone})`}</span>
        <br />
        <code className="muted small">{schedule.cron}</code>
        {type ? <span className="muted small"> · {type}</span> : null}
      </td>
      <td>
        {schedule.paused ? <span className="muted">paused</span> : schedule.next_fire_at ? <span title={utc(schedule.next_fire_at)}>{relativeTime(schedule.next_fire_at, now)}</span> : <span className="muted">none</span>}
      </td>
      <td>
        {schedule.last_fire_at ? (
          schedule.last_job_id ? (
            <Link to={`/jobs/${schedule.last_job_id}`} title={utc(schedule.last_fire_at)}>
              {relativeTime(schedule.last_fire_at, now)}
            </Link>
          ) : (
            <span title={utc(schedule.last_fire_at)}>{relativeTime(schedule.last_fire_at, now)}</span>
          )
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td className="num" data-testid={`schedule-counts-${schedule.name}`}>
        {schedule.fire_count.toLocaleString()} / {schedule.skip_count.toLocaleString()}
        {schedule.fire_count > 0 ? (
          <>
            {' '}
            <Link to={`/jobs?schedule_id=${encodeURIComponent(schedule.id)}`} className="small" aria-label={`Jobs of schedule ${schedule.name}`}>
              jobs
            </Link>
          </>
        ) : null}
      </td>
      <td>
        <span className={`pill ${schedule.paused ? 'pill-paused' : 'pill-active'}`} data-testid={`schedule-state-${schedule.name}`}>
          {schedule.paused ? '❚❚ Paused' : '▶ Active'}
        </span>
      </td>
      <td>
        <div className="actions">
          <button type="button" className={schedule.paused ? 'primary' : undefined} disabled={toggle.isPending} onClick={() => toggle.mutate({ paused: !schedule.paused })}>
            {schedule.paused ? 'Resume' : 'Pause'} <span className="sr-only">{schedule.name}</span>
          </button>
          <button type="button" disabled={trigger.isPending} onClick={() => trigger.mutate()}>
            Trigger <span className="sr-only">{schedule.name}</span>
          </button>
        </div>
        <p className={notice?.kind === 'error' ? 'error-text small' : 'ok-text small'} role="status" data-testid={`schedule-notice-${schedule.name}`}>
          {notice?.text ?? ''}
          {notice?.jobId ? <Link to={`/jobs/${notice.jobId}`} className="mono">{notice.jobId}</Link> : null}
        </p>
      </td>
    </tr>
  );
}

const EMPTY_FORM = { name: '', cron: '0 9 * * *', timezone: 'UTC', type: '', payload: '{}' };

function CreateForm() {
  const id = useId();
  const client = useQueryClient();
  const [form, setForm] = useState(EMPTY_FORM);
  const [notice, setNotice] = useState<Notice>(null);
  const [created, setCreated] = useState<Schedule | null>(null);
  const create = useMutation({
    mutationFn: async (body: ReturnType<typeof createBody>) => {
      const schedule = await request<Schedule>('POST', '/schedules', body);
      return get<Schedule>(`${path(schedule)}?preview=5`);
    },
    onSuccess: (schedule) => {
      setCreated(schedule);
      setNotice({ kind: 'ok', text: `Created ${schedule.name}.` });
      setForm(EMPTY_FORM);
      void client.invalidateQueries({ queryKey: ['schedules'] });
    },
    onError: (error: Error) => setNotice({ kind: 'error', text: says(error, 'Not created') }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    try {
      create.mutate(createBody(form));
    } catch (error) {
      setNotice({ kind: 'error', text: `Not created: ${(error as Error).message}` });
    }
  };
  const words = describeCron(form.cron, form.timezone);
  const field = (name: keyof typeof EMPTY_FORM, label: string, extra: { hint?: string; mono?: boolean; area?: boolean } = {}) => (
    <div className="limit-field">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      {extra.area ? (
        <textarea id={`${id}-${name}`} name={name} className="mono" rows={3} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
      ) : (
        <input
          id={`${id}-${name}`}
          name={name}
          autoComplete="off"
          className={extra.mono ? 'mono' : undefined}
          value={form[name]}
          aria-describedby={extra.hint ? `${id}-${name}-hint` : undefined}
          onChange={(e) => setForm({ ...form, [name]: e.target.value })}
        />
      )}
      {extra.hint ? (
        <span id={`${id}-${name}-hint`} className="muted small">
          {extra.hint}
        </span>
      ) : null}
    </div>
  );
  return (
    <form className="card limits" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>New schedule</h2>
      <div className="limits-fields">
        {field('name', 'Name', { hint: 'unique, e.g. daily-report' })}
        {field('cron', 'Cron', { hint: 'minute hour day-of-month month day-of-week', mono: true })}
        {field('timezone', 'Time zone', { hint: 'IANA name, e.g. Europe/Berlin' })}
        {field('type', 'Job type', { hint: 'the type of each job it creates' })}
        {field('payload', 'Payload (JSON object)', { area: true })}
      </div>
      <p className={words.ok ? undefined : 'error-text'} aria-live="polite" data-testid="cron-words">
        {words.text}
      </p>
      <div className="actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create schedule'}
        </button>
      </div>
      <p className={notice?.kind === 'error' ? 'error-text' : 'ok-text'} role="status" aria-live="polite" data-testid="create-notice">
        {notice?.text ?? ''}
      </p>
      {created?.upcoming ? (
        <div>
          <h3>Next fire instants of {created.name}</h3>
          <ol data-testid="upcoming">
            {created.upcoming.map((at) => (
              <li key={at}>
                <time dateTime={at}>{utc(at)}</time>
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </form>
  );
}

/** Most schedules the page lists: past them it says how many it shows. */
const MAX_LISTED = 2000;

/** Every schedule, page after page (the API gives at most 100 a page), up to MAX_LISTED. */
async function allSchedules(): Promise<{ items: Schedule[]; more: boolean }> {
  const items: Schedule[] = [];
  let cursor: string | null = null;
  do {
    const page: SchedulePage = await get<SchedulePage>(`/schedules?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < MAX_LISTED);
  return { items, more: cursor !== null };
}

export function SchedulesPage() {
  const client = useQueryClient();
  const schedules = useQuery({ queryKey: ['schedules'], queryFn: allSchedules, refetchInterval: 10_000 });
  const now = useNow(1_000);
  const refresh = useThrottled(() => void client.invalidateQueries({ queryKey: ['schedules'] }), 500);
  useEffect(() => onScheduleUpdate(refresh), [refresh]);
  return (
    <section aria-labelledby="schedules-title">
      <div className="page-head">
        <h1 id="schedules-title">Schedules</h1>
        <p className="muted">Cron schedules that create jobs: when each fires next, what it last created; pause, resume or trigger one now.</p>
      </div>
      {schedules.error ? <p className="error-text">Could not read the schedules: {(schedules.error as Error).message}</p> : null}
      {!schedules.data && !schedules.error ? <p className="muted">Loading…</p> : null}
      {schedules.data ? (
        schedules.data.items.length === 0 ? (
          <p className="muted">No schedules yet.</p>
        ) : (
          <div className="card table-wrap">
            <table>
              <caption className="sr-only">Schedules</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">When</th>
                  <th scope="col">Next fire</th>
                  <th scope="col">Last fire</th>
                  <th scope="col">Fired / skipped</th>
                  <th scope="col">State</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {schedules.data.items.map((s) => (
                  <ScheduleRow key={s.id} schedule={s} now={now} />
                ))}
              </tbody>
            </table>
            {schedules.data.more ? (
              <p className="muted" data-testid="schedules-more">
                Showing the first {schedules.data.items.length.toLocaleString('en')} schedules; GET /schedules lists the rest.
              </p>
            ) : null}
          </div>
        )
      ) : null}
      <CreateForm />
    </section>
  );
}
