import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A page of GET /jobs or GET /jobs/{id}/logs ends once its payloads and results (lines' data) pass
 * 4 MiB, with next_cursor set: 200 jobs of 1 MiB payloads made one answer of 200 MB before, and a few
 * of those at once could take the process's heap. Paging on from the cursor still yields every item once.
 */
let app: TestApp;
let client: pg.Client;
const MB = 1024 * 1024;

beforeAll(async () => {
  ({ app, db: client } = await startTestAppWithDatabase('page_bytes', { ROLE: 'api' }));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

async function allPages(first: string): Promise<{ pages: number[]; ids: string[]; bytes: number[] }> {
  const pages: number[] = [];
  const ids: string[] = [];
  const bytes: number[] = [];
  let url: string | null = first;
  while (url) {
    const response: { status: number; body: any } = await app.get(url);
    expect(response.status).toBe(200);
    pages.push(response.body.items.length);
    bytes.push(JSON.stringify(response.body).length);
    ids.push(...response.body.items.map((i: { id: string }) => i.id));
    const cursor: string | null = response.body.next_cursor;
    url = cursor ? `${first}&cursor=${encodeURIComponent(cursor)}` : null;
  }
  return { pages, ids, bytes };
}

describe('pages bounded in bytes', () => {
  it('GET /jobs ends a page of large payloads early, and the cursor goes on from there', async () => {
    const big = 'x'.repeat(800_000);
    const submitted: string[] = [];
    for (let i = 0; i < 8; i++) {
      // Held a day ahead: nothing runs, the rows keep their payloads as they are.
      const job = await app.submit({ type: 'noop', payload: { echo: { big, i } }, delay_ms: 86_400_000 });
      submitted.push(job.id);
    }
    const { pages, ids, bytes } = await allPages('/jobs?type=noop&limit=200');
    expect(pages.length).toBeGreaterThan(1);
    expect(Math.max(...bytes)).toBeLessThan(6 * MB);
    expect(ids).toEqual([...submitted].reverse()); // every job once, newest first
  });

  it('GET /jobs/{id}/logs ends a page of large lines early, and the cursor goes on from there', async () => {
    const job = await app.submit({ type: 'noop', delay_ms: 86_400_000 });
    await client.query(
      `INSERT INTO job_logs (job_id, level, message, attempt, data) SELECT $1, 'info', 'line ' || n, 0, jsonb_build_object('blob', repeat('y', 800000))
       FROM generate_series(1, 8) AS n`,
      [job.id],
    );
    const { pages, ids, bytes } = await allPages(`/jobs/${job.id}/logs?limit=1000`);
    expect(pages.length).toBeGreaterThan(1);
    expect(Math.max(...bytes)).toBeLessThan(6 * MB);
    expect(ids.length).toBe(9); // job_created and the eight lines
    expect(new Set(ids).size).toBe(9);
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
  });
});
