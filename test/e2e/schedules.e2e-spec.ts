import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { io } from 'socket.io-client';
import { ScheduleTimer } from '../../src/scheduler/schedule-timer.js';
import { leaderGauge } from '../support/engine.js';
import { startApiProcess, stopAllProcesses, type ApiClient } from '../support/processes.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/** Recurring schedules (DESIGN §11, §15) on the real PostgreSQL and Redis. */

let space: TestSpace;
let app: TestApp;
let seq = 0;
const uniqueName = (label: string) => `${label}-${Date.now().toString(36)}-${seq++}`;

const everySecond = (overrides: Record<string, unknown> = {}) => ({
  name: uniqueName('tick'),
  cron: '* * * * * *',
  job: { type: 'noop', payload: {} },
  ...overrides,
});

async function createSchedule(api: ApiClient, body: Record<string, unknown>): Promise<any> {
  const response = await api.post('/schedules', body);
  if (response.status !== 201) throw new Error(`POST /schedules answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Every job of a schedule, oldest tick first. */
async function jobsOf(api: ApiClient, scheduleId: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const response: { status: number; body: any } = await api.get(`/jobs?schedule_id=${scheduleId}&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    expect(response.status).toBe(200);
    items.push(...response.body.items);
    cursor = response.body.next_cursor;
  } while (cursor);
  return items.sort((a, b) => Date.parse(a.scheduled_for) - Date.parse(b.scheduled_for));
}

const ticksOf = (jobs: any[]) => jobs.map((j) => Date.parse(j.scheduled_for));
const lateMs = (job: any) => Date.parse(job.created_at) - Date.parse(job.scheduled_for);

function expectDistinctWholeSeconds(jobs: any[]): void {
  const ticks = ticksOf(jobs);
  expect(new Set(ticks).size).toBe(ticks.length);
  for (const t of ticks) expect(t % 1000).toBe(0);
}

beforeAll(async () => {
  space = await createTestSpace('schedules');
  app = await startTestApp(space, { WORKER_ID: 'schedules-all' });
});

afterAll(async () => {
  await stopAllProcesses();
  await app?.close();
});

describe('bad input', () => {
  const valid = () => ({ name: uniqueName('bad'), cron: '0 9 * * *', timezone: 'Europe/Berlin', job: { type: 'noop', payload: {} } });

  it.each([
    ['a cron with 7 fields', { cron: '* * * * * * *' }, 'cron', 'has 7'],
    ['minute 61', { cron: '61 * * * *' }, 'cron', '61'],
    ['an unknown macro', { cron: '@fortnightly' }, 'cron', 'not a known macro'],
    ['an unknown zone', { timezone: 'Mars/Olympus_Mons' }, 'timezone', 'IANA'],
    ['a template with an unknown type', { job: { type: 'teleport' } }, 'job', 'teleport'],
    ['a template with a bad payload', { job: { type: 'noop', payload: { duration_ms: 'soon' } } }, 'job.payload.duration_ms', ''],
    ['a template with an unknown field', { job: { type: 'noop', colour: 'red' } }, 'job.colour', 'colour'],
    ['a template with an idempotency_key', { job: { type: 'noop', idempotency_key: 'x' } }, 'job.idempotency_key', 'every tick'],
    ['a template over the worker limits', { job: { type: 'noop', resource_requirements: { cpu_units: 10_000 } } }, 'job.resource_requirements.cpu_units', 'MAX_CPU_UNITS'],
    ['an unknown field', { colour: 'red' }, 'colour', 'colour'],
    ['a bad name', { name: 'no spaces please' }, 'name', 'name'],
    ['a name of dots only (a URL path cannot name it)', { name: '..' }, 'name', 'not dots only'],
    ['a bad overlap_policy', { overlap_policy: 'queue' }, 'overlap_policy', 'skip, allow, cancel_previous'],
    ['a bad catch_up', { catch_up: 'some' }, 'catch_up', 'none, latest, all'],
    ['start_at without a zone', { start_at: '2027-01-01T00:00:00' }, 'start_at', 'offset'],
    ['end_at before start_at', { start_at: '2027-02-01T00:00:00Z', end_at: '2027-01-01T00:00:00Z' }, 'end_at', 'before start_at'],
    ['a start_at on a day that does not exist', { start_at: '2027-02-30T00:00:00Z' }, 'start_at', 'does not exist'],
    ['an end_at on a day that does not exist', { end_at: '2027-04-31T00:00:00Z' }, 'end_at', 'does not exist'],
    ['a start_at in year 0', { start_at: '0000-01-01T00:00:00Z' }, 'start_at', 'before 1970'],
    ['a start_at centuries ahead', { start_at: '3500-01-01T00:00:00Z' }, 'start_at', 'years ahead'],
    ['an end_at in year 10000 (9999-12-31 at a negative offset)', { end_at: '9999-12-31T23:59:59-01:00' }, 'end_at', 'after 9999-12-31T23:59:59.999Z'],
    ['a day-of-month of 32', { cron: '0 0 32 * *' }, 'cron', 'day-of-month: 32 is out of range (1-31)'],
    ['a name shaped like an id', { name: '01900000-0000-7000-8000-000000000abc' }, 'name', 'shape of a schedule id'],
  ])('%s: 400 naming the field, and nothing stored', async (_what, change, field, text) => {
    const body = { ...valid(), ...change };
    const response = await app.post('/schedules', body);
    expect(response.status).toBe(400);
    const text400 = JSON.stringify(response.body);
    expect(text400).toContain(field);
    expect(text400).toContain(text);
    expect(response.body.code).toBeDefined();
    if (/^\.+$/.test(body.name)) expect((await app.get('/schedules?limit=200')).body.items.map((x: any) => x.name)).not.toContain(body.name);
    else expect((await app.get(`/schedules/${encodeURIComponent(body.name)}`)).status).toBe(404);
  });

  it('a duplicate name is a 409, and the first schedule stays as it was', async () => {
    const first = await createSchedule(app, valid());
    const again = await app.post('/schedules', { ...valid(), name: first.name, cron: '0 10 * * *' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('SCHEDULE_NAME_TAKEN');
    expect((await app.get(`/schedules/${first.name}`)).body.cron).toBe('0 9 * * *');
    const second = await createSchedule(app, valid());
    const renamed = await app.patch(`/schedules/${second.id}`, { name: first.name });
    expect(renamed.status).toBe(409);
    expect((await app.get(`/schedules/${second.id}`)).body.name).toBe(second.name);
    expect((await app.request('PUT', '/schedules/bad%20name', { cron: '@daily', job: { type: 'noop' } })).status).toBe(400);
  });

  it("PUT to another schedule's id is refused: a name may not have the shape of an id", async () => {
    const victim = await createSchedule(app, valid());
    const put = await app.request('PUT', `/schedules/${victim.id}`, { cron: '@daily', job: { type: 'noop' } });
    expect(put.status).toBe(400);
    expect(put.body.details).toEqual([expect.objectContaining({ field: 'name' })]);
    expect((await app.get(`/schedules/${victim.id}`)).body).toMatchObject({ name: victim.name, cron: victim.cron });
  });

  it('trigger takes no body: an unknown field is a 400 and creates no job', async () => {
    const s = await createSchedule(app, valid());
    const response = await app.post(`/schedules/${s.id}/trigger`, { payload: { x: 1 } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'payload' }] });
    expect((await app.get(`/schedules/${s.id}`)).body.fire_count).toBe(0);
    expect((await app.post(`/schedules/${s.id}/trigger`, {})).status).toBe(201);
    // Concurrent triggers each make a job, at distinct instants.
    const many = await Promise.all(Array.from({ length: 20 }, () => app.post(`/schedules/${s.id}/trigger`, {})));
    expect(many.map((r) => r.status)).toEqual(many.map(() => 201));
    expect(new Set(many.map((r) => r.body.scheduled_for)).size).toBe(20);
    expect((await app.get(`/schedules/${s.id}`)).body.fire_count).toBe(21);
  });

  it('PATCH validates like POST, and a rejected change leaves the schedule unchanged', async () => {
    const s = await createSchedule(app, valid());
    for (const change of [{ cron: '61 * * * *' }, { timezone: 'Nowhere/Land' }, { job: { type: 'noop', payload: { nope: 1 } } }, { name: null }, { paused: 'yes' }]) {
      expect((await app.patch(`/schedules/${s.id}`, change)).status).toBe(400);
    }
    const now = (await app.get(`/schedules/${s.id}`)).body;
    expect(now).toMatchObject({ cron: s.cron, timezone: s.timezone, job: s.job, name: s.name, paused: false, updated_at: s.updated_at });
  });

  it('preview is 1..50, and an unknown schedule is a 404', async () => {
    const s = await createSchedule(app, valid());
    expect((await app.get(`/schedules/${s.id}?preview=51`)).status).toBe(400);
    expect((await app.get(`/schedules/${s.id}?preview=0`)).status).toBe(400);
    expect((await app.get('/schedules/nope-not-here')).status).toBe(404);
    expect((await app.patch('/schedules/nope-not-here', { paused: true })).status).toBe(404);
    expect((await app.request('DELETE', '/schedules/nope-not-here')).status).toBe(404);
    expect((await app.post('/schedules/nope-not-here/trigger', {})).status).toBe(404);
  });
});

describe('reading and changing schedules', () => {
  it('creates with defaults, reads by id and by name, and previews the next fire instants in the zone', async () => {
    const name = uniqueName('daily-report');
    const s = await createSchedule(app, { name, cron: '0 9 * * *', timezone: 'Europe/Berlin', job: { type: 'report_generation', payload: { report_type: 'daily_summary' } } });
    expect(s).toMatchObject({
      name, cron: '0 9 * * *', timezone: 'Europe/Berlin', overlap_policy: 'skip', catch_up: 'latest', paused: false,
      start_at: null, end_at: null, last_fire_at: null, last_job_id: null, fire_count: 0, skip_count: 0,
    });
    expect((await app.get(`/schedules/${s.id}`)).body.name).toBe(name);
    const preview = (await app.get(`/schedules/${name}?preview=5`)).body;
    expect(preview.upcoming).toHaveLength(5);
    expect(preview.upcoming[0]).toBe(s.next_fire_at);
    for (const instant of preview.upcoming) {
      const hour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(instant));
      expect(hour).toBe('09:00');
    }
    expect((await app.get(`/schedules/${s.id}`)).body.upcoming).toBeUndefined();
  });

  it('lists by name with a cursor', async () => {
    const prefix = uniqueName('list');
    for (const n of ['c', 'a', 'b']) await createSchedule(app, { name: `${prefix}-${n}`, cron: '@daily', job: { type: 'noop' } });
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await app.get(`/schedules?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      names.push(...page.items.map((s: any) => s.name));
      cursor = page.next_cursor;
    } while (cursor);
    expect(names).toEqual([...names].sort());
    expect(names.filter((n) => n.startsWith(prefix))).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
  });

  it('PUT creates (201), then replaces exactly (200): omitted fields take their defaults, the id and history stay', async () => {
    const name = uniqueName('deploy');
    const created = await app.request('PUT', `/schedules/${name}`, {
      cron: '*/5 * * * *', timezone: 'America/New_York', job: { type: 'noop', priority: 'high' }, overlap_policy: 'allow', catch_up: 'all', paused: true,
      end_at: '2099-01-01T00:00:00Z',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, overlap_policy: 'allow', catch_up: 'all', paused: true, end_at: '2099-01-01T00:00:00.000Z' });
    const replaced = await app.request('PUT', `/schedules/${name}`, { cron: '0 * * * *', job: { type: 'noop' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      id: created.body.id, name, cron: '0 * * * *', timezone: 'UTC', job: { type: 'noop' }, overlap_policy: 'skip', catch_up: 'latest', paused: false,
      start_at: null, end_at: null,
    });
    expect(Date.parse(replaced.body.next_fire_at) % 3_600_000).toBe(0);
    const same = await app.request('PUT', `/schedules/${name}`, { cron: '0 * * * *', job: { type: 'noop' } });
    expect(same.status).toBe(200);
    expect(same.body.next_fire_at).toBe(replaced.body.next_fire_at);
    expect((await app.request('PUT', `/schedules/${name}`, { name: 'other', cron: '0 * * * *', job: { type: 'noop' } })).status).toBe(400);
    expect((await app.request('PUT', `/schedules/${name}`, { cron: '0 * * * *' })).status).toBe(400);
  });

  it('PATCH changes only the fields given, recomputes next_fire_at for a new cron, and clears a bound with null', async () => {
    const s = await createSchedule(app, { name: uniqueName('patch'), cron: '0 9 * * *', job: { type: 'noop' }, end_at: '2099-01-01T00:00:00Z' });
    const changed = (await app.patch(`/schedules/${s.name}`, { cron: '30 7 * * *', end_at: null, catch_up: 'none' })).body;
    expect(changed).toMatchObject({ id: s.id, cron: '30 7 * * *', end_at: null, catch_up: 'none', timezone: 'UTC', job: s.job });
    expect(new Date(changed.next_fire_at).toISOString().slice(11, 16)).toBe('07:30');
    const past = (await app.patch(`/schedules/${s.id}`, { end_at: '2020-01-01T00:00:00Z' })).body;
    expect(past.next_fire_at).toBeNull();
  });
});

describe('firing', () => {
  it('a one-second schedule creates one job per tick, with distinct scheduled_for, each on time', async () => {
    const s = await createSchedule(app, everySecond());
    await expectEventually(async () => expect((await jobsOf(app, s.id)).length).toBeGreaterThanOrEqual(4), { timeoutMs: 10_000 });
    const jobs = await jobsOf(app, s.id);
    expectDistinctWholeSeconds(jobs);
    const ticks = ticksOf(jobs);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    for (const job of jobs) {
      expect(job).toMatchObject({ schedule_id: s.id, type: 'noop' });
      // On time (never handled as a missed tick); how late fires are is measured by `npm run bench`.
      expect(lateMs(job)).toBeLessThanOrEqual(2000);
    }
    const after = (await app.get(`/schedules/${s.id}`)).body;
    expect(after.fire_count).toBeGreaterThanOrEqual(jobs.length);
    expect(after.last_job_id).not.toBeNull();
    await app.request('DELETE', `/schedules/${s.id}`);
  });

  it('pause drops ticks (counted as skips), resume fires again, trigger makes one job now, delete stops it and keeps its jobs', async () => {
    const s = await createSchedule(app, everySecond());
    await expectEventually(async () => expect((await jobsOf(app, s.id)).length).toBeGreaterThanOrEqual(1));
    const paused = (await app.patch(`/schedules/${s.id}`, { paused: true })).body;
    expect(paused.paused).toBe(true);
    const countAtPause = (await jobsOf(app, s.id)).length;
    await expectEventually(async () => expect((await app.get(`/schedules/${s.id}`)).body.skip_count).toBeGreaterThanOrEqual(3), { timeoutMs: 8000 });
    // At most one tick may have fired between the pause request and its commit.
    expect((await jobsOf(app, s.id)).length).toBeLessThanOrEqual(countAtPause + 1);

    const triggered = await app.post(`/schedules/${s.name}/trigger`, {});
    expect(triggered.status).toBe(201);
    expect(triggered.body).toMatchObject({ schedule_id: s.id, type: 'noop' });
    expect(Math.abs(Date.parse(triggered.body.scheduled_for) - Date.now())).toBeLessThan(5000);
    expect(Date.parse(triggered.body.scheduled_for)).toBeLessThanOrEqual(Date.parse(triggered.body.created_at));
    expect((await app.get(`/schedules/${s.id}`)).body.last_job_id).toBe(triggered.body.id);

    const pausedCount = (await jobsOf(app, s.id)).length;
    await app.patch(`/schedules/${s.id}`, { paused: false });
    await expectEventually(async () => expect((await jobsOf(app, s.id)).length).toBeGreaterThanOrEqual(pausedCount + 2));

    expect((await app.request('DELETE', `/schedules/${s.id}`)).status).toBe(204);
    expect((await app.get(`/schedules/${s.id}`)).status).toBe(404);
    const kept = await jobsOf(app, s.id);
    expect(kept.length).toBeGreaterThanOrEqual(pausedCount + 2);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // two ticks' time: nothing more may appear
    expect((await jobsOf(app, s.id)).length).toBe(kept.length);
  });

  it('start_at and end_at bound the ticks, both inclusive', async () => {
    const start = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
    const end = new Date(start.getTime() + 2000);
    const s = await createSchedule(app, everySecond({ start_at: start.toISOString(), end_at: end.toISOString() }));
    expect(s.next_fire_at).toBe(start.toISOString());
    await expectEventually(async () => expect((await app.get(`/schedules/${s.id}`)).body.next_fire_at).toBeNull(), { timeoutMs: 10_000 });
    expect(ticksOf(await jobsOf(app, s.id))).toEqual([start.getTime(), start.getTime() + 1000, end.getTime()]);
  });
});

describe('overlap policies', () => {
  it('skip: no tick fires while the previous tick’s job is unfinished; each such tick counts as a skip', async () => {
    const s = await createSchedule(app, everySecond({ job: { type: 'noop', payload: { duration_ms: 2500 } } }));
    await expectEventually(async () => expect((await app.get(`/schedules/${s.id}`)).body.skip_count).toBeGreaterThanOrEqual(3), { timeoutMs: 10_000 });
    await app.patch(`/schedules/${s.id}`, { paused: true });
    const jobs = await jobsOf(app, s.id);
    expectDistinctWholeSeconds(jobs);
    // Never two unfinished at once: each job started after the previous one ended.
    for (let i = 1; i < jobs.length; i++) {
      const previous = await app.getJob(jobs[i - 1].id);
      expect(Date.parse(jobs[i].created_at)).toBeGreaterThanOrEqual(Date.parse(previous.completed_at));
    }
  });

  it('allow: ticks fire while earlier jobs still run', async () => {
    const s = await createSchedule(app, everySecond({ overlap_policy: 'allow', job: { type: 'noop', payload: { duration_ms: 4000 } } }));
    await expectEventually(async () => {
      const running = (await jobsOf(app, s.id)).filter((j) => j.status === 'running');
      expect(running.length).toBeGreaterThanOrEqual(2);
    }, { timeoutMs: 10_000 });
    await app.patch(`/schedules/${s.id}`, { paused: true });
    expect((await app.get(`/schedules/${s.id}`)).body.skip_count).toBe(0);
  });

  it('cancel_previous: the unfinished previous job is cancelled with SUPERSEDED_BY_SCHEDULE, then the new one is created', async () => {
    const s = await createSchedule(app, everySecond({ overlap_policy: 'cancel_previous', job: { type: 'noop', payload: { duration_ms: 10_000 } } }));
    await expectEventually(async () => expect((await jobsOf(app, s.id)).length).toBeGreaterThanOrEqual(3), { timeoutMs: 10_000 });
    await app.patch(`/schedules/${s.id}`, { paused: true });
    const jobs = await jobsOf(app, s.id);
    for (const job of jobs.slice(0, -2)) {
      const now = await app.getJob(job.id);
      expect(now.status).toBe('cancelled');
      expect(now.error).toMatchObject({ code: 'SUPERSEDED_BY_SCHEDULE', schedule_id: s.id });
    }
    const logs = (await app.get(`/jobs/${jobs[0].id}/logs`)).body.items.map((l: any) => l.message);
    expect(logs.join('\n')).toContain('superseded');
  });
});

describe('schedule_update events', () => {
  it('reach unfiltered clients and clients that subscribed {schedule_id}', async () => {
    const connect = async () => {
      const socket = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false });
      const updates: any[] = [];
      socket.on('schedule_update', (u: any) => updates.push(u));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      return { socket, updates };
    };
    const unfiltered = await connect();
    const filtered = await connect();
    const other = await connect();
    try {
      expect(await other.socket.emitWithAck('subscribe', { schedule_id: '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e' })).toMatchObject({ ok: true });
      expect(await other.socket.emitWithAck('subscribe', { schedule_id: 'daily' })).toEqual({ ok: false, error: 'schedule_id "daily" is not a UUID' });
      const s = await createSchedule(app, everySecond());
      const ack = await filtered.socket.emitWithAck('subscribe', { schedule_id: s.id });
      expect(ack).toEqual({ ok: true, subscriptions: { all: false, job_ids: [], types: [], schedule_ids: [s.id] } });
      await expectEventually(() => expect(filtered.updates.filter((u) => u.event === 'schedule_fired').length).toBeGreaterThanOrEqual(2), { timeoutMs: 8000 });
      await app.patch(`/schedules/${s.id}`, { paused: true });
      await app.request('DELETE', `/schedules/${s.id}`);
      await expectEventually(() => expect(filtered.updates.map((u) => u.event)).toContain('schedule_deleted'));
      const fired = filtered.updates.find((u) => u.event === 'schedule_fired');
      expect(fired).toMatchObject({ type: 'schedule_update', schedule_id: s.id, data: { job_id: expect.any(String), scheduled_for: expect.any(String) } });
      expect((await app.getJob(fired.data.job_id)).scheduled_for).toBe(fired.data.scheduled_for);
      expect(filtered.updates.map((u) => u.event)).toContain('schedule_updated');
      await expectEventually(() => expect(unfiltered.updates.map((u) => u.event)).toEqual(expect.arrayContaining(['schedule_created', 'schedule_fired', 'schedule_updated', 'schedule_deleted'])));
      expect(other.updates.filter((u) => u.schedule_id === s.id)).toEqual([]);
    } finally {
      for (const c of [unfiltered, filtered, other]) c.socket.disconnect();
    }
  });
});

describe('bulk actions by schedule', () => {
  it('POST /jobs/bulk/cancel with filter {schedule_id} cancels that schedule’s unfinished jobs and no other job', async () => {
    const long = { type: 'noop', payload: { duration_ms: 30_000 } };
    const s = await createSchedule(app, everySecond({ overlap_policy: 'allow', job: long }));
    const bystander = await app.post('/jobs', long);
    expect(bystander.status).toBe(201);
    await expectEventually(async () => expect((await jobsOf(app, s.id)).length).toBeGreaterThanOrEqual(2), { timeoutMs: 10_000 });
    await app.patch(`/schedules/${s.id}`, { paused: true });
    const jobs = await jobsOf(app, s.id);
    const result = await app.post('/jobs/bulk/cancel', { filter: { schedule_id: s.id } });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ matched: jobs.length, changed: jobs.length, skipped: [] });
    for (const job of jobs) expect((await app.getJob(job.id)).status).toBe('cancelled');
    expect((await app.getJob(bystander.body.id)).status).not.toBe('cancelled');
    await app.patch(`/jobs/${bystander.body.id}/cancel`, {});
    const bad = await app.post('/jobs/bulk/cancel', { filter: { schedule_id: 'nope' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('schedule_id');
  });
});

describe('GET /jobs?schedule_id=', () => {
  it('refuses a malformed id', async () => {
    const response = await app.get('/jobs?schedule_id=nope');
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain('schedule_id');
  });
});

describe('catch-up after the service was stopped across ticks', () => {
  it('none drops the missed ticks, latest fires the most recent one, all fires each, oldest first', async () => {
    const made = {
      none: await createSchedule(app, everySecond({ catch_up: 'none', overlap_policy: 'allow' })),
      latest: await createSchedule(app, everySecond({ catch_up: 'latest', overlap_policy: 'allow' })),
      all: await createSchedule(app, everySecond({ catch_up: 'all', overlap_policy: 'allow' })),
    };
    for (const s of Object.values(made)) await expectEventually(async () => expect((await jobsOf(app, s.id)).length).toBeGreaterThanOrEqual(1));
    await app.close();
    const stoppedAt = Date.now();
    // 8 s down: at least 5 ticks fall while no scheduler runs, however fast the restart is.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    app = await startTestApp(space, { WORKER_ID: 'schedules-all' });
    const restartedAt = Date.now();
    // Wait until each has fired on time after the restart.
    for (const s of Object.values(made)) {
      await expectEventually(async () => expect(ticksOf(await jobsOf(app, s.id)).some((t) => t > restartedAt)).toBe(true), { timeoutMs: 10_000 });
    }
    for (const s of Object.values(made)) await app.patch(`/schedules/${s.id}`, { paused: true });

    const none = await jobsOf(app, made.none.id);
    const latest = await jobsOf(app, made.latest.id);
    const all = await jobsOf(app, made.all.id);
    for (const jobs of [none, latest, all]) expectDistinctWholeSeconds(jobs);
    // Missed: the ticks after the last one fired before the stop and before the new leader's term began,
    // the ones that fell while it was starting included. From the term on, every tick fires.
    const term = app.app.get(ScheduleTimer).termStart()!.getTime();
    const split = (jobs: any[]) => {
      const lastBefore = Math.max(...ticksOf(jobs.filter((j) => Date.parse(j.created_at) < stoppedAt)));
      const missed: number[] = [];
      for (let tick = lastBefore + 1000; tick < term; tick += 1000) missed.push(tick);
      const ticks = ticksOf(jobs);
      return { missed, fired: ticks.filter((t) => t > lastBefore && t < term), fromTerm: ticks.filter((t) => t >= term) };
    };
    const [n, l, a] = [split(none), split(latest), split(all)];
    for (const { missed } of [n, l, a]) expect(missed.length).toBeGreaterThanOrEqual(5);
    expect(n.fired).toEqual([]);
    expect(l.fired).toEqual([l.missed.at(-1)]);
    expect(a.fired).toEqual(a.missed);
    for (const { fromTerm } of [n, l, a]) {
      expect(fromTerm[0]).toBe(Math.ceil(term / 1000) * 1000);
      for (let i = 1; i < fromTerm.length; i++) expect(fromTerm[i]! - fromTerm[i - 1]!).toBe(1000);
    }

    // Every tick handled either fired or counted as a skip.
    for (const [s, jobs] of [[made.none, none], [made.latest, latest], [made.all, all]] as const) {
      const now = (await app.get(`/schedules/${s.id}`)).body;
      expect(now.fire_count).toBe(jobs.length);
      const handled = Math.round((Date.parse(now.next_fire_at) - Date.parse(jobs[0].scheduled_for)) / 1000);
      expect(now.fire_count + now.skip_count).toBe(handled);
    }
    expect((await app.get(`/schedules/${made.none.id}`)).body.skip_count).toBeGreaterThanOrEqual(4);
  });
});

describe('two API instances', () => {
  it('never yields two jobs for one tick when the leader is killed around a tick', async () => {
    const first = await startApiProcess(space, { ROLE: 'api' });
    // The test app leads until it steps down: make the forked process the leader by restarting ours after it.
    await app.close();
    await expectEventually(async () => expect(await leaderGauge(first)).toBe(1), { timeoutMs: 15_000 });
    app = await startTestApp(space, { WORKER_ID: 'schedules-second' });
    expect(await leaderGauge(app)).toBe(0);

    // allow: jobs wait unplaced while no scheduler runs; the overlap policy must not hide a lost tick.
    const s = await createSchedule(first, everySecond({ catch_up: 'all', overlap_policy: 'allow' }));
    await expectEventually(async () => expect((await jobsOf(app, s.id)).length).toBeGreaterThanOrEqual(3), { timeoutMs: 10_000 });
    // Kill the leader just after a tick falls due, while it is firing it.
    const untilTick = 1000 - (Date.now() % 1000);
    await new Promise((resolve) => setTimeout(resolve, untilTick + 2));
    first.kill('SIGKILL');
    await first.waitForExit();
    await expectEventually(async () => expect(await leaderGauge(app)).toBe(1), { timeoutMs: 20_000 });
    const takenOver = Date.now();
    await expectEventually(async () => expect(ticksOf(await jobsOf(app, s.id)).some((t) => t > takenOver)).toBe(true), { timeoutMs: 10_000 });
    await app.patch(`/schedules/${s.id}`, { paused: true });

    const jobs = await jobsOf(app, s.id);
    expectDistinctWholeSeconds(jobs);
    // catch_up all: no tick lost either, across the kill.
    const ticks = ticksOf(jobs);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    const db = new pg.Client({ connectionString: space.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(
        `SELECT scheduled_for, count(*)::int AS n FROM jobs WHERE schedule_id = $1 GROUP BY scheduled_for HAVING count(*) > 1`,
        [s.id],
      );
      expect(rows).toEqual([]);
    } finally {
      await db.end();
    }
    expect((await app.get(`/schedules/${s.id}`)).body.fire_count).toBe(jobs.length);
  });
});
