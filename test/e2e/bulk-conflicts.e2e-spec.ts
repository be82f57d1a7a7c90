import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { JobRerunService } from '../../src/jobs/job-rerun.service.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * A bulk action works in chunks of 500 jobs, each its own transaction. A chunk that loses a deadlock as
 * many times as it is run changed nothing, but the chunks before it had committed: the answer must say
 * what was changed, and the action goes on with the chunks after it.
 */

let space: TestSpace;
let app: TestApp;
let db: DataSource;

beforeAll(async () => {
  space = await createTestSpace('bulk_conflicts');
  // The service's sessions look for deadlocks after 1 s of waiting, the side connection below after 10 s,
  // so the bulk action's transaction is always the one PostgreSQL rolls back. A session looks once per
  // wait: the side must join the cycle within that second, which on a busy machine 100 ms did not leave.
  const admin = new pg.Client({ connectionString: space.databaseUrl });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(new URL(space.databaseUrl).pathname.slice(1))} SET deadlock_timeout = '1s'`);
  await admin.end();
  app = await startTestApp(space);
  db = app.app.get(DataSource);
});

afterAll(async () => {
  await app?.close();
});

/**
 * `count` blocked jobs (nothing runs them), stored in the order of their ids, oldest first: a bulk
 * action's chunks take them in that order, and its UPDATE locks them in that order too (by the primary
 * key, or by a scan of the table, which holds them in the same order).
 */
async function seedBlocked(count: number): Promise<string[]> {
  const rows: Array<{ id: string }> = await db.query(
    `WITH ids AS (SELECT gen_random_uuid() AS id FROM generate_series(1, $1) ORDER BY 1),
     numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM ids)
     INSERT INTO jobs (id, type, priority, status, payload, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms,
                       timeout_seconds, attempts, pending_dependencies, created_at, updated_at, event_seq)
     SELECT id, 'noop', 'normal', 'blocked', '{}', 1, 2, 1000, 60000, 60, 0, 1,
            now() - interval '1 hour' + make_interval(secs => n / 1000.0), now(), 1
     FROM numbered ORDER BY n
     RETURNING id`,
    [count],
  );
  return rows.map((r) => r.id).sort();
}

/** Whether one of the service's sessions waits on a row lock inside a bulk cancel's UPDATE (read outside any transaction, which would see one snapshot of the activity). */
async function bulkCancelWaits(): Promise<boolean> {
  const rows: Array<{ n: number }> = await db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE '%job_cancelled%'`,
  );
  return rows[0]!.n > 0;
}

describe('a bulk action whose chunk keeps losing deadlocks', () => {
  it('skips that chunk as CONFLICT, goes on with the next ones, and answers what it changed', async () => {
    const ids = await seedBlocked(1_100);
    const second = ids.slice(500, 1_000);

    // A side transaction holds the last job of the second chunk. Each run of that chunk locks its jobs
    // in order up to that one and waits; the side then waits on one the chunk holds, a deadlock that
    // rolls the chunk back; the side now holds that one too, and the next run meets it one job earlier.
    const side = new pg.Client({ connectionString: space.databaseUrl });
    await side.connect();
    try {
      await side.query(`SET deadlock_timeout = '10s'`);
      await side.query('BEGIN');
      await side.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [second[499]]);

      let answered = false;
      const answer = app.post('/jobs/bulk/cancel', { ids }).finally(() => {
        answered = true;
      });
      let rounds = 0;
      for (let next = 498; !answered && next >= 0; next--) {
        const waiting = await expectEventually(
          async () => {
            if (answered) return false;
            expect(await bulkCancelWaits()).toBe(true);
            return true;
          },
          { timeoutMs: 15_000 },
        );
        if (!waiting) break;
        await side.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [second[next]]);
        rounds++;
      }
      const response = await answer;
      // Before: 409 "the request met concurrent changes to the same jobs and was not carried out", with
      // the first chunk's 500 jobs cancelled already.
      expect(response.status).toBe(200);
      expect(rounds).toBe(3);
      expect(response.body).toMatchObject({ matched: 1_100, changed: 600, conflicts: 500 });
      expect(response.body.skipped).toHaveLength(100);
      for (const skipped of response.body.skipped) {
        expect(skipped.code).toBe('CONFLICT');
        expect(second).toContain(skipped.id);
      }
    } finally {
      await side.query('ROLLBACK').catch(() => undefined);
      await side.end();
    }

    const statuses: Array<{ id: string; status: string }> = await db.query(`SELECT id, status FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
    const status = new Map(statuses.map((r) => [r.id, r.status]));
    expect(ids.slice(0, 500).every((id) => status.get(id) === 'cancelled')).toBe(true);
    expect(second.every((id) => status.get(id) === 'blocked')).toBe(true);
    expect(ids.slice(1_000).every((id) => status.get(id) === 'cancelled')).toBe(true);

    // Sent again, it changes what it skipped, and skips the rest as already finished.
    const again = await app.post('/jobs/bulk/cancel', { ids });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ matched: 1_100, changed: 500 });
    expect(again.body.conflicts).toBeUndefined();
  }, 60_000);
});

describe('a bulk retry whose retries keep losing deadlocks', () => {
  it('tries a chunk that lost together one job at a time, and skips only the job that keeps losing', async () => {
    const rows: Array<{ id: string }> = await db.query(
      `INSERT INTO jobs (id, type, priority, status, payload, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms,
                         timeout_seconds, attempts, pending_dependencies, error, created_at, updated_at, completed_at, event_seq)
       SELECT gen_random_uuid(), 'noop', 'normal', 'failed', '{}', 1, 2, 1000, 60000, 60, 1, 0,
              '{"code": "HANDLER_ERROR", "message": "seeded"}'::jsonb, now() - interval '1 hour' + make_interval(secs => n), now(), now(), 1
       FROM generate_series(1, 5) n
       RETURNING id`,
    );
    const ids = rows.map((r) => r.id);
    const contended = ids[2]!;
    // What retryLostRaces throws once a transaction lost as many times as it ran it (PostgreSQL's deadlock_detected).
    const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });
    const reruns = app.app.get(JobRerunService);
    const together = jest.spyOn(reruns, 'tryRetryMany').mockRejectedValueOnce(deadlock());
    const original = reruns.tryRetry.bind(reruns);
    const alone = jest.spyOn(reruns, 'tryRetry').mockImplementation((id, actor) => (id === contended ? Promise.reject(deadlock()) : original(id, actor)));
    try {
      const response = await app.post('/jobs/bulk/retry', { ids });
      // Before: 409 "... was not carried out", whatever had been retried.
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ matched: 5, changed: 4, conflicts: 1, skipped: [{ id: contended, code: 'CONFLICT' }] });
      expect(together).toHaveBeenCalledTimes(1);
    } finally {
      together.mockRestore();
      alone.mockRestore();
    }
    expect((await app.getJob(contended)).status).toBe('failed');
    for (const id of ids.filter((i) => i !== contended)) expect((await app.getJob(id)).status).not.toBe('failed');
    const again = await app.post('/jobs/bulk/retry', { ids: [contended] });
    expect(again.body).toMatchObject({ matched: 1, changed: 1 });
  }, 30_000);
});
