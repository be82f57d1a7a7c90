import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { aJob } from '../builders/job.builder.js';
import { leaderGauge } from '../support/engine.js';
import { startApiProcess, stopAllProcesses, type ApiProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

/**
 * Two API instances on one database: an API process started first (so it wins the election) and an
 * `all` instance in the test process (API, scheduler and the only worker). Exactly one schedules;
 * when the leader dies, the other takes over.
 */

let space: TestSpace;
let first: ApiProcess;
let second: TestApp;

beforeAll(async () => {
  space = await createTestSpace('engine_leader');
  first = await startApiProcess(space, { ROLE: 'api' });
  await expectEventually(async () => expect(await leaderGauge(first)).toBe(1));
  second = await startTestApp(space, { ROLE: 'all', WORKER_ID: 'second-all' });
});

afterAll(async () => {
  await stopAllProcesses();
  await second?.close();
});

async function completes(api: { getJob(id: string): Promise<any> }, id: string) {
  await expectEventually(async () => expect(await api.getJob(id)).toMatchObject({ status: 'completed', worker_id: 'second-all' }));
}

describe('two API instances', () => {
  it('elects exactly one scheduler leader, and jobs submitted to either instance run', async () => {
    expect(await leaderGauge(first)).toBe(1);
    expect(await leaderGauge(second)).toBe(0);
    await completes(second, (await first.submit(aJob())).id);
    await completes(first, (await second.submit(aJob())).id);
    // Still one leader after some scheduling.
    expect([await leaderGauge(first), await leaderGauge(second)]).toEqual([1, 0]);
  });

  it('hands the leadership to the other instance when the leader is killed, and jobs still run', async () => {
    first.kill('SIGKILL');
    await first.waitForExit();
    await expectEventually(async () => expect(await leaderGauge(second)).toBe(1), { timeoutMs: 5000 });
    const jobs = [await second.submit(aJob()), await second.submit(aJob({ payload: { duration_ms: 100 } }))];
    for (const job of jobs) await completes(second, job.id);
  });
});
