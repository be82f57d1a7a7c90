import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getQueueToken } from '@nestjs/bull';
import type Bull from 'bull';
import { Redis } from 'ioredis';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { EXECUTION_QUEUE } from '../../src/dispatch/bull-worker-queue.js';
import { ExecutionService } from '../../src/executor/execution.service.js';
import { WorkerAgent } from '../../src/executor/worker-agent.service.js';
import { expectEventually, startTestAppWithDatabase, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-env.js';

/**
 * A worker frozen or cut off past its lease may be taken for gone, and another process may register
 * under its WORKER_ID. When the first comes back, its heartbeats must not be accepted beside the new
 * holder's (before, a beat of a higher number than the new holder's went through): it aborts what it
 * still runs, registers nothing, and stops.
 */
const WORKER = 'w-taken-over';
let app: TestApp;
let client: pg.Client;

beforeAll(async () => {
  ({ app, db: client } = await startTestAppWithDatabase('worker_id_takeover', { ROLE: 'all', WORKER_ID: WORKER, HEARTBEAT_INTERVAL_MS: '200' }));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

describe('a worker whose WORKER_ID another process registered under', () => {
  it('stops at its next heartbeat: its running job aborted, the row left to the new holder', async () => {
    const agent = app.app.get(WorkerAgent);
    const executions = app.app.get(ExecutionService);
    let replaced = 0;
    agent.onReplaced = () => void (replaced += 1); // instead of stopping the test's process
    const job = await app.submit({ type: 'noop', payload: { duration_ms: 60_000 }, retry_config: { max_attempts: 3 } });
    await expectEventually(() => expect(executions.runningJobs().map((j) => j.id)).toEqual([job.id]));

    // Another process registers under the id (as WorkerRepository.upsert does, with its own token).
    const { rows } = await client.query(
      `UPDATE workers SET pid = pid + 1, boot_token = gen_random_uuid(), heartbeat_seq = 0, started_at = now(), last_heartbeat_at = now(),
         executing_job_ids = '{}', previous_heartbeat_at = NULL
       WHERE id = $1 RETURNING boot_token::text, pid`,
      [WORKER],
    );
    const holder = rows[0];

    await expectEventually(() => expect(replaced).toBe(1), { timeoutMs: 5_000 });
    expect(executions.runningJobs()).toEqual([]);
    // Its beats stopped: the row stays the new holder's.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = (await client.query(`SELECT boot_token::text, pid, status, heartbeat_seq::int AS seq FROM workers WHERE id = $1`, [WORKER])).rows[0];
    expect(after).toEqual({ boot_token: holder.boot_token, pid: holder.pid, status: 'active', seq: 0 });
    expect(replaced).toBe(1);

    // The queue is named by the worker id, so it is the new holder's too: a hand-over to it stays there
    // for the new holder, through this process's whole shutdown (before, the shutdown deleted the queue).
    const queue = app.app.get<Bull.Queue>(getQueueToken(EXECUTION_QUEUE));
    const waitKey = queue.toKey('wait');
    await queue.add({ jobId: randomUUID(), attempt: 1 });
    await agent.beforeApplicationShutdown();
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.llen(waitKey)).toBe(1);
    } finally {
      await redis.del(waitKey);
      redis.disconnect();
    }
  });
});
