import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { WorkerRepository } from '../../src/resources/worker.repository.js';
import { startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A worker gives up on a heartbeat that gets no answer in time and sends the next one; the one given up
 * on may still reach PostgreSQL later. Numbered beats keep it from putting back an older list of jobs.
 */
const FIRST = randomUUID();
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
    await workers.upsert({ id: 'w-order', host: 'test', pid: 1, maxConcurrentJobs: 4, maxCpuUnits: 4, maxMemoryMb: 1024, bootToken: FIRST, pidScope: '' });
    const [older, newer] = [randomUUID(), randomUUID()];
    expect(await workers.heartbeat('w-order', FIRST, [older], 1)).toEqual({ alive: true, replaced: false });
    expect(await workers.heartbeat('w-order', FIRST, [older, newer], 3)).toEqual({ alive: true, replaced: false });
    const before = (await client.query(`SELECT executing_job_ids, last_heartbeat_at, previous_heartbeat_at FROM workers WHERE id = 'w-order'`)).rows[0];
    expect(await workers.heartbeat('w-order', FIRST, [older], 2)).toEqual({ alive: true, replaced: false }); // the late one
    const after = (await client.query(`SELECT executing_job_ids, last_heartbeat_at, previous_heartbeat_at FROM workers WHERE id = 'w-order'`)).rows[0];
    expect(after).toEqual(before);
    expect(after.executing_job_ids.sort()).toEqual([older, newer].sort());

    // Registering again starts the numbers over.
    await workers.upsert({ id: 'w-order', host: 'test', pid: 2, maxConcurrentJobs: 4, maxCpuUnits: 4, maxMemoryMb: 1024, bootToken: FIRST, pidScope: '' });
    expect(await workers.heartbeat('w-order', FIRST, [newer], 1)).toEqual({ alive: true, replaced: false });
    expect((await client.query(`SELECT executing_job_ids FROM workers WHERE id = 'w-order'`)).rows[0].executing_job_ids).toEqual([newer]);

    // A worker declared lost is not alive, whatever the number.
    await client.query(`UPDATE workers SET status = 'lost' WHERE id = 'w-order'`);
    expect((await workers.heartbeat('w-order', FIRST, [], 9)).alive).toBe(false);
  });

  it('a process whose id another registered under is refused from then on: its beats, its status writes, its registering again', async () => {
    const workers = app.app.get(WorkerRepository);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const worker = { id: 'w-taken', host: 'test', pid: 1, maxConcurrentJobs: 4, maxCpuUnits: 4, maxMemoryMb: 1024, pidScope: '' };
    const jobOfA = randomUUID();
    expect(await workers.upsert({ ...worker, bootToken: a })).toBe(true);
    expect(await workers.heartbeat('w-taken', a, [jobOfA], 7)).toEqual({ alive: true, replaced: false });
    // Another process judged A gone (A was frozen past its lease) and registers; a third that judged the id free comes too late.
    expect(await workers.upsert({ ...worker, pid: 2, bootToken: b }, a)).toBe(true);
    expect(await workers.upsert({ ...worker, pid: 3, bootToken: c }, null)).toBe(false);
    // A comes back: its next beat (a higher number than B's) is refused and says why; nothing of B's row changes.
    expect(await workers.heartbeat('w-taken', b, [], 1)).toEqual({ alive: true, replaced: false });
    const before = (await client.query(`SELECT * FROM workers WHERE id = 'w-taken'`)).rows[0];
    expect(await workers.heartbeat('w-taken', a, [jobOfA], 8)).toEqual({ alive: false, replaced: true });
    await workers.setStatus('w-taken', a, 'stopped');
    expect(await workers.upsert({ ...worker, bootToken: a }, a)).toBe(false);
    expect((await client.query(`SELECT * FROM workers WHERE id = 'w-taken'`)).rows[0]).toEqual(before);
    expect(before).toMatchObject({ status: 'active', pid: 2, boot_token: b, executing_job_ids: [] });
    // B's own drain writes apply, and a stopped row is free to anyone.
    await workers.setStatus('w-taken', b, 'stopped');
    expect(await workers.upsert({ ...worker, pid: 3, bootToken: c }, null)).toBe(true);
  });
});
