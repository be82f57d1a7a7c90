import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestSpace, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/** A change of a schedule's timing made just as one of its ticks falls due (DESIGN §11: exactly once per tick). */

let app: TestApp;
let space: TestSpace;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  space = await createTestSpace('schedule_changes');
  app = await startTestApp(space, { WORKER_ID: 'schedule-changes' });
});

afterAll(async () => {
  await app?.close();
});

describe('changing the timing as a tick falls due', () => {
  it('loses no tick: PATCHes of an equivalent zone sent a few ms before each tick leave one job per tick', async () => {
    const created = await app.post('/schedules', {
      name: `near-tick-${Date.now().toString(36)}`,
      cron: '* * * * * *',
      timezone: 'UTC',
      job: { type: 'noop' },
      overlap_policy: 'allow',
      catch_up: 'all',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await sleep(1500);
    const firstTick = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    for (let i = 0; i < 6; i++) {
      const tick = firstTick + i * 1000;
      await sleep(Math.max(0, tick - 8 - Date.now()));
      const patched = await app.patch(`/schedules/${id}`, { timezone: i % 2 === 0 ? 'Etc/UTC' : 'UTC' });
      expect(patched.status).toBe(200);
    }
    const lastTick = firstTick + 5 * 1000;
    await sleep(Math.max(0, lastTick + 2500 - Date.now()));
    const listed = await app.get(`/jobs?schedule_id=${id}&limit=200`);
    const ticks = (listed.body.items as Array<{ scheduled_for: string }>).map((j) => Date.parse(j.scheduled_for));
    const window = ticks.filter((t) => t >= firstTick && t <= lastTick).sort((a, b) => a - b);
    expect(window.map((t) => new Date(t).toISOString())).toEqual(Array.from({ length: 6 }, (_, i) => new Date(firstTick + i * 1000).toISOString()));
    const schedule = (await app.get(`/schedules/${id}`)).body;
    expect(schedule.skip_count).toBe(0);
  }, 30_000);
});

describe('a PUT that lands while its schedule fires', () => {
  it('keeps the cursor the firing advanced (the firing holds the row; the PUT reads it after)', async () => {
    const name = `put-at-fire-${Date.now().toString(36)}`;
    const body = { cron: '0 0 9 1 1 *', timezone: 'UTC', job: { type: 'noop' }, overlap_policy: 'cancel_previous' };
    const created = await app.request('PUT', `/schedules/${name}`, body);
    expect(created.status).toBe(201);
    const before = Date.parse(created.body.next_fire_at as string);
    const advanced = new Date(before + 365 * 24 * 3600 * 1000).toISOString();
    // Stands in for the leader's firing transaction: it holds the row, then moves the cursor on.
    const firing = new pg.Client({ connectionString: space.databaseUrl });
    await firing.connect();
    try {
      await firing.query('BEGIN');
      await firing.query('SELECT id FROM schedules WHERE name = $1 FOR UPDATE', [name]);
      const put = app.request('PUT', `/schedules/${name}`, { ...body, job: { type: 'noop', priority: 'high' } });
      await sleep(300);
      await firing.query('UPDATE schedules SET next_fire_at = $2 WHERE name = $1', [name, advanced]);
      await firing.query('COMMIT');
      const replaced = await put;
      expect(replaced.status).toBe(200);
      // Before: the PUT wrote back the cursor it had read before the firing, and the tick was handed out again.
      expect(replaced.body.next_fire_at).toBe(advanced);
      expect(replaced.body.job.priority).toBe('high');
      expect((await app.get(`/schedules/${name}`)).body.next_fire_at).toBe(advanced);
    } finally {
      await firing.end();
    }
  }, 20_000);
});
