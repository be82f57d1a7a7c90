import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource, type EntityManager } from 'typeorm';
import { Sql } from '../../src/database/sql.js';
import { JobDeletionRepository } from '../../src/jobs/job-deletion.repository.js';
import { createTestSpace, startTestApp, type TestApp } from '../support/test-app.js';

const DAY_SECONDS = 86_400;
const COMPLETED_SECONDS = 7 * DAY_SECONDS;
const FAILED_SECONDS = 30 * DAY_SECONDS;
const BATCH = 25;
const KEPT = 3000;
const EXPIRED = 300;

let app: TestApp;
let db: DataSource;
/** The retention's deletions, on a Sql whose transactions count what they read. */
let deletions: JobDeletionRepository;
/** Rows of `jobs` and entries of its indexes that those transactions read (the catalog's counters of each). */
let rowsRead = 0;

beforeAll(async () => {
  const space = await createTestSpace('retention_sweep');
  // Retention's own passes off: the test runs a pass itself, batch after batch, as the leader does.
  app = await startTestApp(space, { RETENTION_COMPLETED_SECONDS: '0', RETENTION_FAILED_SECONDS: '0' });
  db = app.app.get(DataSource);
  const sql = app.app.get(Sql);
  const read = async (tx: EntityManager) => {
    const [row] = await tx.query(
      `SELECT pg_stat_get_xact_tuples_returned('jobs'::regclass)
              + (SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid)) FROM pg_index WHERE indrelid = 'jobs'::regclass) AS n`,
    );
    return Number(row.n);
  };
  const counting = Object.create(sql) as Sql;
  counting.transaction = <T>(work: (tx: EntityManager) => Promise<T>): Promise<T> =>
    sql.transaction(async (tx) => {
      const before = await read(tx);
      const result = await work(tx);
      rowsRead += (await read(tx)) - before;
      return result;
    });
  deletions = new JobDeletionRepository(counting);
});

afterAll(async () => {
  await app?.close();
});

/** `count` finished jobs, created (and ended) `ageSeconds` ago plus a millisecond apiece, each with a log row. */
async function seed(count: number, status: string, ageSeconds: number, type: string): Promise<string[]> {
  const rows: Array<{ id: string }> = await db.query(
    `WITH inserted AS (
       INSERT INTO jobs (id, type, status, payload, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms,
                         timeout_seconds, attempts, error, created_at, updated_at, completed_at, event_seq)
       SELECT gen_random_uuid(), $2, $3::job_status, '{}', 1, 2, 1000, 60000, 60, 1,
              CASE WHEN $3 <> 'completed' THEN '{"code": "HANDLER_ERROR", "message": "seeded"}'::jsonb END,
              now() - make_interval(secs => $4) + g * interval '1 ms', now(), now() - make_interval(secs => $4) + g * interval '1 ms', 1
       FROM generate_series(1, $1) g
       RETURNING id
     ), logged AS (
       INSERT INTO job_logs (job_id, level, message, attempt) SELECT id, 'info', 'seeded', 0 FROM inserted
     )
     SELECT id FROM inserted`,
    [count, type, status, ageSeconds],
  );
  return rows.map((r) => r.id);
}

const count = async (sql: string, params: unknown[] = []) => ((await db.query(sql, params))[0] as { n: number }).n;

/**
 * One retention pass as the leader runs it (JobDeletionService's cut-offs, 0 = kept forever): batches
 * until one comes back short. Returns how many batches it took.
 */
async function pass(completedSeconds = COMPLETED_SECONDS, failedSeconds = FAILED_SECONDS): Promise<number> {
  const cut = (seconds: number) => (seconds > 0 ? new Date(Date.now() - seconds * 1000) : null);
  let batches = 0;
  for (;;) {
    batches += 1;
    if ((await deletions.deleteExpired(cut(completedSeconds), cut(failedSeconds), BATCH)).length < BATCH) return batches;
  }
}

describe('retention past jobs that must stay', () => {
  it('reads the kept jobs at the front of the index once a pass, not once a batch, and deletes every expired job behind them', async () => {
    // 3,000 completed jobs past their retention, each kept by a failed dependent still inside its own.
    const kept = await seed(KEPT, 'completed', 8 * DAY_SECONDS, 'kept_parent');
    const dependents = await seed(KEPT, 'failed', 8 * DAY_SECONDS, 'kept_dependent');
    await db.query(`INSERT INTO job_dependencies (job_id, depends_on_id) SELECT unnest($1::uuid[]), unnest($2::uuid[])`, [dependents, kept]);
    // Behind them in the index: expired jobs nothing depends on, completed and failed, and young ones.
    const expired = await seed(EXPIRED, 'completed', 7.5 * DAY_SECONDS, 'expired_done');
    const expiredFailed = await seed(40, 'failed', 31 * DAY_SECONDS, 'expired_failed');
    const young = await seed(20, 'completed', 3600, 'young_done');

    rowsRead = 0;
    const batches = await pass();

    expect(batches).toBeGreaterThanOrEqual((EXPIRED + 40) / BATCH);
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [[...expired, ...expiredFailed]])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM job_logs WHERE job_id = ANY($1::uuid[])`, [[...expired, ...expiredFailed]])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [[...kept, ...dependents, ...young]])).toBe(2 * KEPT + 20);
    expect(await count(`SELECT count(*)::int AS n FROM job_dependencies WHERE depends_on_id = ANY($1::uuid[])`, [kept])).toBe(KEPT);
    // Each kept job is read a few times in the pass (its index entry twice, its row, its dependent's
    // row): about 12,000 rows. Read again by each of the 14 batches, from the oldest each time, they
    // came to over 85,000.
    expect(rowsRead).toBeLessThan(6 * KEPT);

    // The next pass starts from the oldest again: a kept job whose dependent went is deleted then.
    await db.query(`DELETE FROM job_dependencies WHERE job_id = $1`, [dependents[0]]);
    await db.query(`DELETE FROM jobs WHERE id = $1`, [dependents[0]]);
    await pass();
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = $1`, [kept[0]])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [kept])).toBe(KEPT - 1);
  });

  it('passes a job another transaction holds within the pass, and deletes it in a later one', async () => {
    const [held, ...others] = await seed(60, 'completed', 9 * DAY_SECONDS, 'held_done');
    const holder = db.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`SELECT id FROM jobs WHERE id = $1 FOR SHARE`, [held]);
      await pass();
      expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [others])).toBe(0);
      expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = $1`, [held])).toBe(1);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    await pass();
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = $1`, [held])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM job_logs WHERE job_id = $1`, [held])).toBe(0);
  });

  it('with failed jobs kept forever (0), deletes the expired completed ones and no failed, timed out or cancelled one', async () => {
    const failed = await seed(30, 'failed', 400 * DAY_SECONDS, 'forever_failed');
    const cancelled = await seed(30, 'cancelled', 400 * DAY_SECONDS, 'forever_cancelled');
    const completed = await seed(60, 'completed', 8 * DAY_SECONDS, 'expired_beside_forever');
    await pass(COMPLETED_SECONDS, 0);
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [completed])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [[...failed, ...cancelled]])).toBe(60);
  });
});
