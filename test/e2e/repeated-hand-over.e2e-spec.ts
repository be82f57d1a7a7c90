import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { JobLifecycleService } from '../../src/jobs/job-lifecycle.service.js';
import { expectEventually, startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A placed job not started in time is handed to its worker again, and the copies of one attempt can
 * reach the worker's start together (a start statement held up by a stalled database gathers them into
 * one batch). Exactly one of them may run it (faults.md: nothing runs twice at the same time).
 */

let app: TestApp;
let client: pg.Client;

beforeAll(async () => {
  // No worker here: the job stays where the test puts it.
  ({ app, db: client } = await startTestAppWithDatabase('repeated_hand_over', { ROLE: 'api' }));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

describe('copies of one hand-over started in one batch', () => {
  it('start the attempt for one caller only', async () => {
    const job = await app.submit({ type: 'noop' });
    // The scheduler makes it ready (no worker to place it on); on a busy machine that takes a moment.
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('ready'));
    await client.query(`UPDATE jobs SET allocated = true, worker_id = 'w-repeated', placed_at = now() WHERE id = $1`, [job.id]);
    const lifecycle = app.app.get(JobLifecycleService);
    const copies = await Promise.all([1, 2, 3].map(() => lifecycle.start(job.id, 1, 'w-repeated')));
    expect(copies.filter((c) => c !== null)).toHaveLength(1);
    expect(copies.find((c) => c !== null)!.job.id).toBe(job.id);
    expect((await app.getJob(job.id)).status).toBe('running');
  });
});
