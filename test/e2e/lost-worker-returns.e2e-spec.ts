import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { JobLifecycleService } from '../../src/jobs/job-lifecycle.service.js';
import { ResourcesService } from '../../src/resources/resources.service.js';
import { expectEventually, startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * The leader declares a worker lost, then reads its running jobs to fail them: two statements. A worker
 * whose heartbeat was refused meanwhile registers again and may start a job before that read. That job
 * is its present life's, which will finish it; failing it as WORKER_LOST would put its retry beside the
 * run that goes on (nothing tells the worker to stop it): two runs of one job at once.
 */

const WORKER = 'w-comes-back';
const CAPACITY = { host: 'test', pid: 1, maxConcurrentJobs: 10, maxCpuUnits: 8, maxMemoryMb: 8192, bootToken: randomUUID(), pidScope: '' };

let app: TestApp;
let client: pg.Client;

beforeAll(async () => {
  // No worker of its own: the job is placed where the test puts it.
  ({ app, db: client } = await startTestAppWithDatabase('lost_worker_returns', { ROLE: 'api', WORKER_LOST_SECONDS: '4', HEARTBEAT_INTERVAL_MS: '1000' }));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

describe('a worker declared lost that registers again before its jobs are read', () => {
  it('keeps the job it started since: not failed as WORKER_LOST', async () => {
    const job = await app.submit({ type: 'noop', retry_config: { max_attempts: 3 } });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('ready'));
    // The worker, about to be declared lost, holds the job placed.
    await client.query(
      `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb, started_at, last_heartbeat_at)
       VALUES ($1, 'test', 1, 'active', 10, 8, 8192, now() - interval '1 minute', now() - interval '3 seconds')`,
      [WORKER],
    );
    await client.query(`UPDATE jobs SET allocated = true, worker_id = $2, placed_at = now() WHERE id = $1`, [job.id, WORKER]);

    const resources = app.app.get(ResourcesService);
    const lifecycle = app.app.get(JobLifecycleService);
    const markSilentAsLost = resources.markSilentAsLost.bind(resources);
    let startedAfterReturn: unknown = undefined;
    resources.markSilentAsLost = async (seconds: number) => {
      const lost = await markSilentAsLost(seconds);
      if (lost.includes(WORKER) && startedAfterReturn === undefined) {
        // Its heartbeat refused, the worker registers again and starts the job placed on it.
        await resources.register({ id: WORKER, ...CAPACITY });
        startedAfterReturn = await lifecycle.start(job.id, 1, WORKER);
      }
      return lost;
    };
    await expectEventually(() => expect(startedAfterReturn).toBeDefined(), { timeoutMs: 15_000, intervalMs: 50 });
    expect(startedAfterReturn).not.toBeNull();
    // The rest of that sweep (and the next ones) ran; the worker's new life is not silent yet (4 s).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { rows } = await client.query(`SELECT status::text, attempts, worker_id FROM jobs WHERE id = $1`, [job.id]);
    expect(rows[0]).toEqual({ status: 'running', attempts: 1, worker_id: WORKER });
    const lostLines = await client.query(`SELECT message FROM job_logs WHERE job_id = $1 AND data->'error'->>'code' = 'WORKER_LOST'`, [job.id]);
    expect(lostLines.rows).toEqual([]);
  });
});
