import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { CANCEL_GRACE_MS } from '../../src/executor/execution.service.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * What a schedule's ticks judge against (DESIGN §11): its overlap policy against every unfinished job
 * of the schedule, a triggered one included; `paused` as of each tick's own instant, however late the
 * leader handles it.
 */

let app: TestApp;
let space: TestSpace;
let seq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));
const uniqueName = (label: string) => `${label}-${Date.now().toString(36)}-${seq++}`;

beforeAll(async () => {
  space = await createTestSpace('schedule_overlap_pause');
  app = await startTestApp(space, { WORKER_ID: 'schedule-overlap-pause' });
});

afterAll(async () => {
  await app?.close();
});

async function createSchedule(body: Record<string, unknown>): Promise<any> {
  const response = await app.post('/schedules', { name: uniqueName('runs'), ...body });
  if (response.status !== 201) throw new Error(`POST /schedules answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** The schedule's jobs, oldest tick first. */
async function jobsOf(scheduleId: string): Promise<any[]> {
  const response = await app.get(`/jobs?schedule_id=${scheduleId}&limit=200`);
  expect(response.status).toBe(200);
  return (response.body.items as any[]).sort((a, b) => Date.parse(a.scheduled_for) - Date.parse(b.scheduled_for));
}

/** Waits until the firing has handled every tick up to `at` (the cursor is past it). */
async function handledThrough(scheduleId: string, at: number): Promise<any> {
  return expectEventually(async () => {
    const s = (await app.get(`/schedules/${scheduleId}`)).body;
    expect(Date.parse(s.next_fire_at)).toBeGreaterThan(at);
    return s;
  }, { timeoutMs: 10_000 });
}

const long = { type: 'noop', payload: { duration_ms: 60_000 } };

describe('overlap against every unfinished job of the schedule, a triggered one included', () => {
  it('skip: a tick job still running is not hidden by a trigger whose job was cancelled; no second run starts beside it', async () => {
    const s = await createSchedule({ cron: '* * * * * *', overlap_policy: 'skip', job: long });
    try {
      const first = await expectEventually(async () => {
        const [job] = await jobsOf(s.id);
        expect(job?.status).toBe('running');
        return job;
      });
      const triggered = await app.post(`/schedules/${s.id}/trigger`, {});
      expect(triggered.status).toBe(201);
      expect((await app.get(`/schedules/${s.id}`)).body.last_job_id).toBe(triggered.body.id);
      expect((await app.patch(`/jobs/${triggered.body.id}/cancel`, {})).status).toBe(200);
      const cancelledAt = Date.now();
      // Two more ticks handled after the triggered job was cancelled.
      const after = await handledThrough(s.id, cancelledAt + 2000);
      expect((await app.getJob(first.id)).status).toBe('running');
      expect((await jobsOf(s.id)).map((j) => j.id)).toEqual([first.id, triggered.body.id]);
      expect(after.skip_count).toBeGreaterThanOrEqual(2);
    } finally {
      await app.patch(`/schedules/${s.id}`, { paused: true });
      await app.post('/jobs/bulk/cancel', { filter: { schedule_id: s.id } });
    }
  }, 30_000);

  it('skip: a cancelled job whose handler has not stopped yet still holds the ticks back, until it stops', async () => {
    // The handler ignores its signal: cancelled, it runs on for the grace period (CANCEL_GRACE_MS) with its resources booked.
    const s = await createSchedule({ cron: '* * * * * *', overlap_policy: 'skip', job: { type: 'noop', payload: { duration_ms: 60_000, ignore_signal: true } } });
    try {
      const first = await expectEventually(async () => {
        const [job] = await jobsOf(s.id);
        expect(job?.status).toBe('running');
        return job;
      });
      expect((await app.patch(`/jobs/${first.id}/cancel`, {})).status).toBe(200);
      const cancelledAt = Date.now();
      // Two more ticks handled while the handler still runs: no job beside it.
      const after = await handledThrough(s.id, cancelledAt + 2000);
      expect((await jobsOf(s.id)).map((j) => j.id)).toEqual([first.id]);
      expect(after.skip_count).toBeGreaterThanOrEqual(2);
      // Once the grace period ends and its resources are released, the next tick runs.
      await expectEventually(async () => expect((await jobsOf(s.id)).length).toBe(2), { timeoutMs: 15_000, intervalMs: 250 });
      expect(Date.now() - cancelledAt).toBeGreaterThan(CANCEL_GRACE_MS - 500);
    } finally {
      await app.patch(`/schedules/${s.id}`, { paused: true });
      await app.post('/jobs/bulk/cancel', { filter: { schedule_id: s.id } });
    }
  }, 40_000);

  it('cancel_previous: the next tick supersedes the running tick job and the running triggered one alike', async () => {
    const s = await createSchedule({ cron: '*/3 * * * * *', overlap_policy: 'cancel_previous', job: long });
    try {
      const first = await expectEventually(async () => {
        const [job] = await jobsOf(s.id);
        expect(job).toBeDefined();
        return job;
      });
      const triggered = await app.post(`/schedules/${s.id}/trigger`, {});
      expect(triggered.status).toBe(201);
      // The triggered job came before the next tick (3 s after the first one).
      expect(Date.parse(triggered.body.scheduled_for)).toBeLessThan(Date.parse(first.scheduled_for) + 3000);
      const next = await expectEventually(async () => {
        const job = (await jobsOf(s.id)).find((j) => Date.parse(j.scheduled_for) === Date.parse(first.scheduled_for) + 3000);
        expect(job).toBeDefined();
        return job;
      });
      for (const id of [first.id, triggered.body.id]) {
        const job = await app.getJob(id);
        expect({ id, status: job.status, code: job.error?.code }).toEqual({ id, status: 'cancelled', code: 'SUPERSEDED_BY_SCHEDULE' });
        expect(job.error.schedule_id).toBe(s.id);
      }
      expect((await app.getJob(next.id)).status).not.toBe('cancelled');
    } finally {
      await app.patch(`/schedules/${s.id}`, { paused: true });
      await app.post('/jobs/bulk/cancel', { filter: { schedule_id: s.id } });
    }
  }, 30_000);
});

describe('paused as of the tick, not as of when the leader handles it', () => {
  /**
   * Stands in for a leader stalled across a tick: a side transaction holds the schedule's row, which
   * the firing claims with SKIP LOCKED, from before the tick until `releaseAt`. `during` runs while it
   * is held; a PATCH sent then waits for the row and takes it when the side transaction ends.
   */
  async function holdRow(name: string, releaseAt: number, during: () => Promise<void>): Promise<void> {
    const side = new pg.Client({ connectionString: space.databaseUrl });
    await side.connect();
    try {
      await side.query('BEGIN');
      await side.query('SELECT id FROM schedules WHERE name = $1 FOR UPDATE', [name]);
      await during();
      await sleepUntil(releaseAt);
      await side.query('COMMIT');
    } finally {
      await side.end();
    }
  }

  /** A whole second at least `ms` ahead. */
  const tickAhead = (ms: number) => Math.ceil((Date.now() + ms) / 1000) * 1000;

  it('a tick that fell while paused is dropped although the leader reaches it only after the resume', async () => {
    const s = await createSchedule({ cron: '* * * * * *', overlap_policy: 'allow', catch_up: 'all', job: { type: 'noop' } });
    await handledThrough(s.id, Date.now());
    const tick = tickAhead(1500);
    await sleepUntil(tick - 300);
    expect((await app.patch(`/schedules/${s.id}`, { paused: true })).body.paused).toBe(true);
    let resumed: Promise<{ status: number; body: any }> | undefined;
    await holdRow(s.name, tick + 500, async () => {
      await sleepUntil(tick + 200);
      // Asked for 200 ms after the tick; it waits for the row until the side transaction ends.
      resumed = app.patch(`/schedules/${s.id}`, { paused: false });
    });
    expect((await resumed!).body.paused).toBe(false);
    const after = await handledThrough(s.id, tick + 1000);
    await app.patch(`/schedules/${s.id}`, { paused: true });
    const ticks = (await jobsOf(s.id)).map((j) => new Date(j.scheduled_for).toISOString());
    // The tick during the pause created nothing (and counts as a skip); the next one, after the resume, fired.
    expect(ticks).not.toContain(new Date(tick).toISOString());
    expect(ticks).toContain(new Date(tick + 1000).toISOString());
    expect(after.skip_count).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('a tick that fell before the pause fires although the leader reaches it only after the pause', async () => {
    const s = await createSchedule({ cron: '* * * * * *', overlap_policy: 'allow', catch_up: 'all', job: { type: 'noop' } });
    await handledThrough(s.id, Date.now());
    const tick = tickAhead(1500);
    await sleepUntil(tick - 300);
    let paused: Promise<{ status: number; body: any }> | undefined;
    await holdRow(s.name, tick + 500, async () => {
      await sleepUntil(tick + 200);
      // Asked for 200 ms after the tick; it waits for the row until the side transaction ends.
      paused = app.patch(`/schedules/${s.id}`, { paused: true });
    });
    expect((await paused!).body.paused).toBe(true);
    await handledThrough(s.id, tick + 1000);
    const ticks = (await jobsOf(s.id)).map((j) => new Date(j.scheduled_for).toISOString());
    // The tick before the pause fired as it would have; the next one, during the pause, did not.
    expect(ticks).toContain(new Date(tick).toISOString());
    expect(ticks).not.toContain(new Date(tick + 1000).toISOString());
  }, 30_000);
});

describe('a trigger after a tick handled late', () => {
  it('takes the next free instant when the one after last_fire_at is taken already', async () => {
    // Paused, so no tick interferes; a trigger ignores paused.
    const s = await createSchedule({ cron: '0 0 1 1 *', paused: true, job: { type: 'noop' } });
    const db = new pg.Client({ connectionString: space.databaseUrl });
    await db.connect();
    try {
      // A trigger took `taken`; a tick handled late then moved last_fire_at back behind it.
      const first = await app.post(`/schedules/${s.id}/trigger`, {});
      expect(first.status).toBe(201);
      const taken = Date.parse(first.body.scheduled_for) + 3600_000 + 1;
      await db.query(`UPDATE jobs SET scheduled_for = $2 WHERE id = $1`, [first.body.id, new Date(taken)]);
      await db.query(`UPDATE schedules SET last_fire_at = $2 WHERE id = $1`, [s.id, new Date(taken - 1)]);
      const second = await app.post(`/schedules/${s.id}/trigger`, {});
      expect(second.status).toBe(201);
      expect(Date.parse(second.body.scheduled_for)).toBeGreaterThan(taken);
    } finally {
      await db.end();
    }
  }, 30_000);
});

describe('catch_up against a scheduler that stayed in office', () => {
  it('fires the ticks its leader was late to (a schedule row held 4 s) even under catch_up none: they were not missed', async () => {
    const s = await createSchedule({ cron: '* * * * * *', overlap_policy: 'allow', catch_up: 'none', job: { type: 'noop' } });
    const held = new pg.Client({ connectionString: space.databaseUrl });
    await held.connect();
    try {
      await handledThrough(s.id, Date.now());
      // The firing claims due schedules FOR UPDATE SKIP LOCKED: while this transaction holds the row,
      // the leader (in office throughout) leaves the schedule's ticks for later, as in a database stall.
      await held.query('BEGIN');
      await held.query('SELECT id FROM schedules WHERE id = $1 FOR UPDATE', [s.id]);
      const heldFrom = Date.now();
      await sleep(4_000);
      await held.query('COMMIT');
      const releasedAt = Date.now();
      const after = await handledThrough(s.id, releasedAt);
      const ticks = (await jobsOf(s.id)).map((j) => Date.parse(j.scheduled_for));
      // Every tick that fell while the row was held has its job: no gap.
      const first = Math.ceil(heldFrom / 1000) * 1000;
      const last = Math.floor(releasedAt / 1000) * 1000;
      for (let tick = first; tick <= last; tick += 1000) expect(ticks).toContain(tick);
      expect(after.skip_count).toBe(0);
    } finally {
      await held.end();
      await app.patch(`/schedules/${s.id}`, { paused: true });
    }
  });
});
