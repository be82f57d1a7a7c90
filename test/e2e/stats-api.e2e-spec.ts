import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * GET /stats/throughput: jobs finished per bucket, from `completed_at`, on a real PostgreSQL. The jobs
 * run for real; their ends are then moved to known instants (and some to other outcomes) with SQL.
 */
let app: TestApp;
let db: DataSource;

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('stats_api'));
  db = app.app.get(DataSource);
});

afterAll(async () => {
  await app?.close();
});

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

describe('GET /stats/throughput', () => {
  it('lists no bucket when nothing finished in the window (before any job ran)', async () => {
    const res = await app.get('/stats/throughput?minutes=1&step_seconds=60');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
    expect(Date.parse(res.body.to) - Date.parse(res.body.from)).toBe(60_000);
  });

  it('counts completed, and failed or timed out, per bucket of the window, from completed_at', async () => {
    const jobs = await Promise.all(Array.from({ length: 7 }, () => app.submit({ type: 'noop' })));
    const ids = jobs.map((j: { id: string }) => j.id);
    await expectEventually(async () => {
      for (const id of ids) expect((await app.getJob(id)).status).toBe('completed');
    });
    const [{ base }] = await db.query(`SELECT extract(epoch FROM date_trunc('second', now()))::bigint - 100 AS base`);
    const b = Number(base);
    const finish = async (id: string, status: string, at: number) =>
      db.query(`UPDATE jobs SET status = $2::job_status, completed_at = to_timestamp($3::float8) WHERE id = $1`, [id, status, at]);
    await finish(ids[0]!, 'completed', b + 0.2);
    await finish(ids[1]!, 'completed', b + 0.9);
    await finish(ids[2]!, 'failed', b + 0.5);
    await finish(ids[3]!, 'timeout', b + 60.5);
    await finish(ids[4]!, 'cancelled', b + 60.5); // not an outcome the chart counts
    await finish(ids[5]!, 'completed', b - 400); // before the window
    await finish(ids[6]!, 'completed', b + 61);

    const res = await app.get('/stats/throughput?minutes=5');
    expect(res.status).toBe(200);
    expect(res.body.step_seconds).toBe(1);
    const to = Date.parse(res.body.to) / 1000;
    expect(Number.isInteger(to)).toBe(true);
    expect(Date.parse(res.body.from) / 1000).toBe(to - 300);
    expect(Date.parse(res.body.now)).toBeGreaterThanOrEqual(to * 1000);
    expect(res.body.items).toEqual([
      { at: iso(b), completed: 2, failed: 1 },
      { at: iso(b + 60), completed: 0, failed: 1 },
      { at: iso(b + 61), completed: 1, failed: 0 },
    ]);

    // Minute buckets: the same jobs, summed by minute.
    const minutes = await app.get('/stats/throughput?minutes=10&step_seconds=60');
    expect(minutes.status).toBe(200);
    expect(Date.parse(minutes.body.to) % 60_000).toBe(0);
    const byMinute = new Map<string, { completed: number; failed: number }>();
    for (const [at, completed, failed] of [[b - 400, 1, 0], [b + 0.2, 1, 0], [b + 0.9, 1, 0], [b + 0.5, 0, 1], [b + 60.5, 0, 1], [b + 61, 1, 0]] as const) {
      const key = iso(Math.floor(at / 60) * 60);
      const sum = byMinute.get(key) ?? { completed: 0, failed: 0 };
      byMinute.set(key, { completed: sum.completed + completed, failed: sum.failed + failed });
    }
    // The window is ten whole minutes before the one still counting (the job 400 s back is in it this time).
    const inWindow = (at: string) => Date.parse(at) >= Date.parse(minutes.body.from) && Date.parse(at) < Date.parse(minutes.body.to);
    const expected = [...byMinute].filter(([at]) => inWindow(at)).map(([at, sum]) => ({ at, ...sum }));
    expect(expected.length).toBeGreaterThan(0);
    expect(minutes.body.items).toEqual(expected);
  });

  it.each([
    ['minutes=0', 'minutes'],
    ['minutes=61', 'minutes'],
    ['minutes=1.5', 'minutes'],
    ['minutes=abc', 'minutes'],
    ['minutes=-5', 'minutes'],
    ['step_seconds=7', 'step_seconds'],
    ['step_seconds=0', 'step_seconds'],
    ['window=5', 'window'],
  ])('refuses ?%s with 400 naming %s', async (query, field) => {
    const res = await app.get(`/stats/throughput?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toEqual(expect.any(String));
    expect(JSON.stringify(res.body.message)).toContain(field);
  });
});
