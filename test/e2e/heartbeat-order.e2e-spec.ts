import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { WorkerRepository } from '../../src/resources/worker.repository.js';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A worker gives up on a heartbeat that gets no answer in time and sends the next one; the one given up
 * on may still reach PostgreSQL later. Numbered beats keep it from putting back an older list of jobs.
 */
let app: TestApp;
let client: pg.Client;

beforeAll(async () => {
  ({ app, db: client } = await startTestAppWithDatabase('heartbeat_order', { ROLE: 'api' }));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

describe('numbered heartbeats', () => {
  it('a beat arriving after a later one changes nothing, and still says the worker is alive', async () => {
    const workers = app.app.get(WorkerRepository);
    await workers.upsert({ id: 'w-order', host: 'test', pid: 1, maxConcurrentJobs: 4, maxCpuUnits: 4, maxMemoryMb: 1024 });
    const [older, newer] = [randomUUID(), randomUUID()];
    expect(await workers.heartbeat('w-order', [older], [], 1)).toEqual({ alive: true, cancelled: [] });
    expect(await workers.heartbeat('w-order', [older, newer], [], 3)).toEqual({ alive: true, cancelled: [] });
    const before = (await client.query(`SELECT executing_job_ids, last_heartbeat_at, previous_heartbeat_at FROM workers WHERE id = 'w-order'`)).rows[0];
    expect(await workers.heartbeat('w-order', [older], [], 2)).toEqual({ alive: true, cancelled: [] }); // the late one
    const after = (await client.query(`SELECT executing_job_ids, last_heartbeat_at, previous_heartbeat_at FROM workers WHERE id = 'w-order'`)).rows[0];
    expect(after).toEqual(before);
    expect(after.executing_job_ids.sort()).toEqual([older, newer].sort());

    // Registering again starts the numbers over.
    await workers.upsert({ id: 'w-order', host: 'test', pid: 2, maxConcurrentJobs: 4, maxCpuUnits: 4, maxMemoryMb: 1024 });
    expect(await workers.heartbeat('w-order', [newer], [], 1)).toEqual({ alive: true, cancelled: [] });
    expect((await client.query(`SELECT executing_job_ids FROM workers WHERE id = 'w-order'`)).rows[0].executing_job_ids).toEqual([newer]);

    // A worker declared lost is not alive, whatever the number.
    await client.query(`UPDATE workers SET status = 'lost' WHERE id = 'w-order'`);
    expect((await workers.heartbeat('w-order', [], [], 9)).alive).toBe(false);
  });
});
