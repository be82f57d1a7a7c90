import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listWorkers, NOTHING_ALLOCATED } from '../support/engine.js';
import { PgFaults } from '../support/pg-faults.js';
import { startApiProcess, stopAllProcesses, type ApiProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, type TestSpace } from '../support/test-app.js';

/**
 * Faults on the path where a completion starts the dependents it released in its own transaction,
 * which only a process that both leads the scheduler and runs a worker takes (ROLE=all): chains run
 * through PostgreSQL ending its connections, and through a kill -9 and a restart. Nothing may be
 * lost, stay booked or crash, and the path must have been taken.
 */

const ENV = { ROLE: 'all', WORKER_ID: 'solo', HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: '4', MAX_CONCURRENT_JOBS: '40' };
const RETRY = { max_attempts: 10, initial_delay_ms: 50 };

let space: TestSpace;
let faults: PgFaults;
let service: ApiProcess;

beforeAll(async () => {
  space = await createTestSpace('released_starts_faults');
  faults = await PgFaults.for(space);
  service = await startApiProcess(space, ENV);
});

afterAll(async () => {
  await stopAllProcesses();
  await faults?.close();
});

/** `chains` chains of `length` noop jobs each, in one batch; their ids. */
async function submitChains(chains: number, length: number, durationMs: number): Promise<string[]> {
  const jobs = Array.from({ length: chains * length }, (_, i) => {
    const [c, n] = [Math.floor(i / length), i % length];
    return { ref: `c${c}-${n}`, type: 'noop', payload: { duration_ms: durationMs }, retry_config: RETRY, depends_on: n === 0 ? [] : [`c${c}-${n - 1}`] };
  });
  const response = await service.post<{ items: Array<{ id: string }> }>('/jobs/batch', { jobs });
  expect(response.status).toBe(201);
  return response.body.items.map((i) => i.id);
}

async function allCompleted(ids: string[], timeoutMs: number): Promise<void> {
  await expectEventually(
    async () => {
      const rows = await faults.query<{ status: string; n: number }>(`SELECT status::text, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY 1`, [ids]);
      expect(rows).toEqual([{ status: 'completed', n: ids.length }]);
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Dependents started in the same transaction as the completion of their dependency (the same now()). */
async function startedWithTheCompletion(ids: string[]): Promise<number> {
  const [row] = await faults.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM job_dependencies d JOIN jobs j ON j.id = d.job_id JOIN jobs p ON p.id = d.depends_on_id
     WHERE d.job_id = ANY($1::uuid[]) AND j.started_at = p.completed_at`,
    [ids],
  );
  return row!.n;
}

async function nothingBooked(): Promise<void> {
  await expectEventually(async () => {
    for (const worker of await listWorkers(service)) if (worker.status === 'active') expect(worker.allocated).toEqual(NOTHING_ALLOCATED);
  }, { timeoutMs: 20_000 });
}

describe('a completion starting the dependents it released (ROLE=all)', () => {
  it('loses nothing and books nothing twice while PostgreSQL ends its connections every 10 ms for 3 s', async () => {
    const ids = await submitChains(20, 15, 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await faults.storm(3000)).toBeGreaterThan(0);
    expect(service.running).toBe(true);
    await allCompleted(ids, 60_000);
    expect(await startedWithTheCompletion(ids)).toBeGreaterThan(0);
    expect(await faults.query(`SELECT job_id FROM job_logs WHERE level = 'error' AND data->'error'->>'code' = 'HANDLER_ERROR'`)).toEqual([]);
    await nothingBooked();
    expect(service.running).toBe(true);
  });

  it('loses nothing through a kill -9 in the middle of the chains and a restart', async () => {
    const ids = await submitChains(20, 15, 50);
    await expectEventually(async () => {
      const [row] = await faults.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'completed'`, [ids]);
      expect(row!.n).toBeGreaterThanOrEqual(60);
    }, { timeoutMs: 30_000, intervalMs: 50 });
    service.kill('SIGKILL');
    await service.waitForExit();
    service = await startApiProcess(space, ENV);
    await allCompleted(ids, 90_000);
    expect(await startedWithTheCompletion(ids)).toBeGreaterThan(0);
    await nothingBooked();
  });
});
