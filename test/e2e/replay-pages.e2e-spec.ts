import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A replay answer is bounded by the bytes of its events as well as by their count: a job whose handler
 * reported large progress data would otherwise make one answer of tens of MB, more than a client may have
 * unsent before it is cut off, and a client reading at WAN speed would be cut off on the same page again.
 */

let app: TestApp;
let db: pg.Client;
let client: Socket;

beforeAll(async () => {
  ({ app, db } = await startTestAppWithDatabase('replay_pages', { ROLE: 'api' }));
});

afterAll(async () => {
  client?.close();
  await db?.end();
  await app?.close();
});

type Page = { ok: boolean; events: Array<{ data: { sequence: number } }>; more?: boolean };

describe('replay of a job with large progress events', () => {
  it('answers in pages of a few MB, each saying more until the last', async () => {
    const job = await app.submit({ type: 'noop' });
    // Three progress events of 3 MB each after job_created (sequence 1), as a handler's ctx.progress writes them.
    for (const sequence of [2, 3, 4]) {
      await db.query(
        `INSERT INTO job_logs (job_id, level, message, attempt, data, event, sequence)
         VALUES ($1::uuid, 'info', 'progress', 1, jsonb_build_object('job_id', $1::text, 'sequence', $2::int, 'progress', 50, 'progress_data', jsonb_build_object('blob', repeat('x', 3000000))), 'job_progress', $2::int)`,
        [job.id, sequence],
      );
    }
    client = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], query: { job_id: job.id } });
    await new Promise<void>((resolve) => client.on('connect', () => resolve()));
    const replay = (after: number) => client.timeout(10_000).emitWithAck('replay', { job_id: job.id, after_sequence: after }) as Promise<Page>;
    const sequences: number[] = [];
    let after = 0;
    let pages = 0;
    for (;;) {
      const page = await replay(after);
      expect(page.ok).toBe(true);
      pages += 1;
      sequences.push(...page.events.map((e) => e.data.sequence));
      if (!page.more) break;
      after = page.events[page.events.length - 1]!.data.sequence;
    }
    expect(sequences).toEqual([1, 2, 3, 4]);
    expect(pages).toBe(2); // 1, 2, 3 (the third starts within 4 MB), then 4
  });
});
