import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import pg from 'pg';
import { LostWorkReaper } from '../../src/scheduler/lost-work-reaper.js';
import { aJob } from '../builders/job.builder.js';
import { waitForJob } from '../support/handler-peers.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * A worker frozen (SIGSTOP) inside its completion transaction holds its jobs' rows. The leader declares
 * it lost and fails its jobs: it must never wait on those rows, or each sweep keeps a pooled connection
 * waiting for as long as the freeze lasts. A side connection holding the rows FOR UPDATE stands in for
 * the frozen worker; once it lets go, a later sweep fails the jobs.
 */

let space: TestSpace;
let app: TestApp;
let db: pg.Client;
let holder: pg.Client | null = null;

beforeAll(async () => {
  space = await createTestSpace('lost_work_locks');
  app = await startTestApp(space, { WORKER_ID: 'alive' });
  db = new pg.Client({ connectionString: space.databaseUrl });
  await db.connect();
});

afterEach(async () => {
  await holder?.end().catch(() => undefined);
  holder = null;
});

afterAll(async () => {
  await holder?.end().catch(() => undefined);
  await db?.end();
  await app?.close();
});

const settled = (id: string, status: string) => waitForJob(app, id, [status], 15_000);

/** A worker row that heartbeats (its beat is ahead), full with the jobs put on it: nothing else is placed there. */
async function aWorker(id: string, slots: number): Promise<void> {
  await db.query(
    `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb, started_at, last_heartbeat_at)
     VALUES ($1, 'elsewhere', 1, 'active', $2, 8, 4096, now() - interval '1 hour', now() + interval '1 hour')`,
    [id, slots],
  );
}

/** Jobs (blocked behind `gate`) made `running` on `workerId`, as its start would leave them. */
async function runningOn(workerId: string, ids: string[]): Promise<void> {
  await db.query(
    `UPDATE jobs SET status = 'running', allocated = true, worker_id = $1, attempts = 1, started_at = now(), pending_dependencies = 0,
            waiting_reason = NULL
     WHERE id = ANY($2::uuid[])`,
    [workerId, ids],
  );
}

/** A transaction on a connection of its own that holds these jobs' rows FOR UPDATE until it ends. */
async function holdRows(ids: string[]): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: space.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [ids]);
  holder = client;
  return client;
}

/** The worker misses its heartbeats; waits until the leader's sweep declared it lost. */
async function silence(workerId: string): Promise<void> {
  await db.query(`UPDATE workers SET last_heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [workerId]);
  await expectEventually(async () => {
    const { rows } = await db.query<{ status: string }>(`SELECT status FROM workers WHERE id = $1`, [workerId]);
    expect(rows[0]?.status).toBe('lost');
  });
}

/** The reaper's pass over jobs left running on gone workers ends within `ms` (rejects otherwise). */
async function reapsWithin(ms: number): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the reaper's pass still waited after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([app.app.get(LostWorkReaper).reapOrphans(), late]);
  } finally {
    clearTimeout(timer);
  }
  return Date.now() - started;
}

describe('the lost-work reaper and rows another transaction holds', () => {
  it('skips running jobs whose rows are held, and fails them by their retry rules once they are let go', async () => {
    await aWorker('frozen', 2);
    const gate = await app.submit(aJob({ payload: { duration_ms: 60_000 } }));
    const last = await app.submit(aJob({ depends_on: [gate.id], retry_config: { max_attempts: 1 } }));
    const retried = await app.submit(aJob({ depends_on: [gate.id], retry_config: { max_attempts: 2, initial_delay_ms: 0 } }));
    await runningOn('frozen', [last.id, retried.id]);
    const frozen = await holdRows([last.id, retried.id]);
    await silence('frozen');

    // Before: the sweep's failure waited on the held rows, and so did this pass, until they were let go.
    await reapsWithin(3_000);
    // The service goes on meanwhile.
    const other = await app.submit(aJob());
    await settled(other.id, 'completed');
    // The jobs found again, still held, are not warned about again (before: two warnings every second).
    const warn = jest.spyOn((app.app.get(LostWorkReaper) as unknown as { logger: Logger }).logger, 'warn');
    await reapsWithin(3_000);
    await reapsWithin(3_000);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    expect(await app.getJob(last.id)).toMatchObject({ status: 'running', worker_id: 'frozen' });
    expect(await app.getJob(retried.id)).toMatchObject({ status: 'running', worker_id: 'frozen' });

    // The worker was declared lost sweeps ago: its jobs are found again as running on a lost worker.
    await frozen.query('ROLLBACK');
    const failed = await settled(last.id, 'failed');
    expect(failed.error).toMatchObject({ code: 'WORKER_LOST', worker_id: 'frozen', message: expect.stringMatching(/^worker frozen was declared lost \(no heartbeat for \d+ s\) while the job was running/) });
    const again = await settled(retried.id, 'completed');
    expect(again).toMatchObject({ attempts: 2, worker_id: 'alive' });
    expect((await app.patch(`/jobs/${gate.id}/cancel`)).status).toBe(200);
  }, 60_000);

  it('does not wait on a held job downstream of a final failure: the failure and its cascade come on a later sweep', async () => {
    await aWorker('frozen2', 1);
    const gate = await app.submit(aJob({ payload: { duration_ms: 60_000 } }));
    const last = await app.submit(aJob({ depends_on: [gate.id], retry_config: { max_attempts: 1 } }));
    const downstream = await app.submit(aJob({ depends_on: [last.id] }));
    await runningOn('frozen2', [last.id]);
    // A completion frozen in its transaction holds the dependents it released, so the cascade meets it.
    const frozen = await holdRows([downstream.id]);
    await silence('frozen2');

    // Before: the cascade waited on the held dependent, and the whole sweep with it.
    await reapsWithin(3_000);
    await reapsWithin(3_000);
    expect(await app.getJob(last.id)).toMatchObject({ status: 'running', worker_id: 'frozen2' });
    expect((await app.getJob(downstream.id)).status).toBe('blocked');

    await frozen.query('ROLLBACK');
    const failed = await settled(last.id, 'failed');
    expect(failed.error).toMatchObject({ code: 'WORKER_LOST', worker_id: 'frozen2' });
    const cancelled = await settled(downstream.id, 'cancelled');
    expect(cancelled.error).toMatchObject({ code: 'DEPENDENCY_FAILED', dependency_id: last.id });
    expect((await app.patch(`/jobs/${gate.id}/cancel`)).status).toBe(200);
  }, 60_000);
});
