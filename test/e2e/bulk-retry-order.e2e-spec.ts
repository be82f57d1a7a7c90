import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestSpace, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * POST /jobs/bulk/retry over a DAG cancelled by hand (POST /jobs/bulk/cancel: every job CANCELLED_BY_USER,
 * none DEPENDENCY_FAILED), its dependent older in the request's order than its dependency (a batch lists
 * it first; both share one created_at). The dependent, refused while its dependency is still cancelled,
 * is tried again once the dependency came back.
 */

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('bulk_retry_order'), { ROLE: 'api' }); // no worker: nothing finishes
});

afterAll(async () => {
  await app?.close();
});

describe('bulk retry of a DAG cancelled by hand, the dependent first', () => {
  it('retries both: the dependent once its dependency is back', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const batch = await app.post('/jobs/batch', { jobs: [{ ref: 'b', type: 'noop', depends_on: ['a'] }, { ref: 'a', type: 'noop', run_at: runAt }] });
    expect(batch.status).toBe(201);
    const [b, a] = batch.body.items.map((i: { id: string }) => i.id) as [string, string];
    const cancelled = await app.post('/jobs/bulk/cancel', { ids: [a, b] });
    expect(cancelled.body).toMatchObject({ matched: 2, changed: 2 });
    expect((await app.getJob(b)).error.code).toBe('CANCELLED_BY_USER');

    const retried = await app.post('/jobs/bulk/retry', { ids: [a, b] });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ matched: 2, changed: 2 });
    expect((await app.getJob(a)).status).toBe('pending');
    expect((await app.getJob(b)).status).toBe('blocked');
  });
});
