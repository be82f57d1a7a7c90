import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { leaderGauge, listWorkers } from '../support/engine.js';
import { stopAllProcesses } from '../support/processes.js';
import { expectEventually } from '../support/test-app.js';
import { Cluster, sleep, WORKER_IDS, WORKER_LOST_MS } from './cluster.js';
import { drillTable, type DrillRow } from './drill-table.js';

/**
 * The fault drills (docs/faults.md): one API and two workers as real processes, data_fetch jobs whose
 * outside world is a local probe, and one fault per drill while jobs flow. Each drill counts the jobs
 * submitted (acknowledged), completed, lost (never terminal within a bounded wait) and overlapping
 * (two runs of one job open at the probe at the same time), and then asserts: nothing lost, nothing
 * run twice at once, every job completed, every allocation back to 0, no process crashed. The drills
 * run in order on one cluster: each starts from what the one before left, as a real cluster would.
 */

const JOBS = 1000;
/** How long the probe holds each request: long enough that a fault finds runs in flight. */
const HOLD_MS = 100;
/** How long every job has to reach an end after the fault: past it, a job still not terminal is lost. */
const SETTLE_MS = 90_000;

let cluster: Cluster;
const rows: DrillRow[] = [];

beforeAll(async () => {
  cluster = await Cluster.start();
}, 200_000);

afterAll(async () => {
  await stopAllProcesses();
  await cluster?.close();
  if (rows.length > 0) process.stdout.write(`\nfault drills\n\n${drillTable(rows)}\n\n`);
});

/**
 * Runs one drill: `inject` submits jobs, injects the fault while they flow and returns the ids
 * acknowledged; then every job must reach an end, and the counts are checked.
 */
async function drill(name: string, inject: () => Promise<string[]>, after?: () => Promise<void>): Promise<void> {
  cluster.probe.reset();
  const startedAt = Date.now();
  const ids = await inject();
  const settled = await cluster.settle(ids, SETTLE_MS);
  const overlapping = cluster.probe.overlapping();
  rows.push({
    drill: name,
    submitted: settled.submitted,
    completed: settled.completed,
    lost: settled.lost,
    overlapping: overlapping.length,
    requests: cluster.probe.requests,
    seconds: (Date.now() - startedAt) / 1000,
  });
  if (settled.detail.length > 0) {
    const workers = await cluster.faults.query(`SELECT id, status, pid, started_at, last_heartbeat_at, stopped_at FROM workers ORDER BY id`);
    const table = await cluster.faults.query(
      `SELECT status, allocated, worker_id, attempts, count(*)::int AS jobs FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled', 'timeout') GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
    );
    process.stdout.write(`\n${name}: jobs not completed\n${JSON.stringify({ jobs: settled.detail, workers, table }, null, 1)}\n`);
  }
  expect({ lost: settled.lost, overlapping, notCompleted: settled.notCompleted }).toEqual({ lost: 0, overlapping: [], notCompleted: [] });
  await cluster.nothingBooked();
  cluster.expectNoCrash();
  await after?.();
}

describe('fault drills (one API, two workers, data_fetch jobs calling a local probe)', () => {
  it('kill -9 of a worker with 1,000 jobs in flight', async () => {
    const victim = WORKER_IDS[1];
    await drill(
      'kill -9 a worker, 1,000 jobs in flight',
      async () => {
        const ids = await cluster.submit(JOBS, HOLD_MS);
        await cluster.untilCompleted(ids, 100);
        await cluster.untilRunningOn(victim, 5);
        await cluster.kill(cluster.workers.get(victim)!);
        return ids;
      },
      async () => {
        expect((await listWorkers(cluster.api)).find((w) => w.id === victim)?.status).toBe('lost');
        await cluster.startWorker(victim);
      },
    );
  });

  it('FLUSHDB of the run’s Redis database', async () => {
    await drill('Redis FLUSHDB', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      await cluster.untilCompleted(ids, 100);
      expect(await cluster.flushRedis()).toBeGreaterThan(0);
      return ids;
    });
  });

  it('PostgreSQL terminating the run’s backends once', async () => {
    await drill('terminate PG backends once', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      await cluster.untilCompleted(ids, 100);
      expect(await cluster.faults.terminate()).toBeGreaterThan(0);
      return ids;
    });
  });

  it('PostgreSQL terminating the run’s backends three times', async () => {
    await drill('terminate PG backends 3 times', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      for (let round = 1; round <= 3; round += 1) {
        await cluster.untilCompleted(ids, round * 150);
        expect(await cluster.faults.terminate()).toBeGreaterThan(0);
      }
      return ids;
    });
  });

  it('PostgreSQL terminating the run’s backends every 10 ms for 5 s', async () => {
    await drill('terminate PG backends every 10 ms for 5 s', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      await cluster.untilCompleted(ids, 100);
      const stop = cluster.flow(() => cluster.api, HOLD_MS);
      expect(await cluster.faults.storm(5000, 10)).toBeGreaterThan(0);
      return [...ids, ...(await stop())];
    });
  });

  it('PostgreSQL refusing every connection of the run past WORKER_LOST_SECONDS', async () => {
    await drill('PG refusing connections past the lost threshold', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      await cluster.untilCompleted(ids, 100);
      expect(await cluster.faults.refuse(WORKER_LOST_MS * 2)).toBeGreaterThan(0);
      return ids;
    });
  });

  it('Redis closing every connection of the run, three times', async () => {
    await drill('Redis dropping every connection 3 times', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      for (let round = 1; round <= 3; round += 1) {
        await cluster.untilCompleted(ids, round * 150);
        expect(await cluster.dropRedisClients()).toBeGreaterThan(0);
      }
      return ids;
    });
  });

  it('Redis answering nobody past WORKER_LOST_SECONDS', async () => {
    await drill('Redis paused past the lost threshold', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      await cluster.untilCompleted(ids, 100);
      await cluster.pauseRedis(WORKER_LOST_MS * 2);
      return ids;
    });
  });

  it('kill -9 of the scheduler leader, two API instances', async () => {
    if (cluster.apis.length < 2) await cluster.startApi();
    await drill(
      'kill -9 the leader (2 APIs)',
      async () => {
        const [leader, follower] = await cluster.leaderAndFollower();
        const ids = await cluster.submit(JOBS / 2, HOLD_MS, follower);
        await cluster.untilCompleted(ids, 50);
        const stop = cluster.flow(() => follower, HOLD_MS);
        await cluster.kill(leader);
        await expectEventually(async () => expect(await leaderGauge(follower)).toBe(1), { timeoutMs: WORKER_LOST_MS * 3, intervalMs: 100 });
        await sleep(1000);
        return [...ids, ...(await stop())];
      },
      async () => {
        await cluster.startApi();
      },
    );
  });

  it('SIGSTOP of the scheduler leader past WORKER_LOST_SECONDS, two API instances', async () => {
    await drill('SIGSTOP the leader past the lost threshold (2 APIs)', async () => {
      const [leader, follower] = await cluster.leaderAndFollower();
      const ids = await cluster.submit(JOBS / 2, HOLD_MS, follower);
      await cluster.untilCompleted(ids, 50);
      const stop = cluster.flow(() => follower, HOLD_MS);
      leader.kill('SIGSTOP');
      let flowed: string[] = [];
      try {
        // The follower takes over while the leader is frozen: jobs submitted meanwhile run.
        await expectEventually(async () => expect(await leaderGauge(follower)).toBe(1), { timeoutMs: WORKER_LOST_MS * 2, intervalMs: 100 });
        await sleep(1500);
      } finally {
        leader.kill('SIGCONT');
        flowed = await stop();
      }
      await leader.waitForLine((l) => l.includes('no longer the scheduler leader'), 'stepping down', 10_000);
      expect(await cluster.leaderAndFollower()).toEqual([follower, leader]);
      return [...ids, ...flowed];
    });
  });

  it('SIGSTOP of a worker past WORKER_LOST_SECONDS, then SIGCONT', async () => {
    const victim = WORKER_IDS[0];
    await drill(
      'SIGSTOP a worker past the lost threshold',
      async () => {
        const ids = await cluster.submit(JOBS, HOLD_MS);
        await cluster.untilCompleted(ids, 100);
        await cluster.untilRunningOn(victim, 5);
        await cluster.freeze(cluster.workers.get(victim)!, WORKER_LOST_MS + 1500);
        return ids;
      },
      async () => {
        await cluster.workers.get(victim)!.waitForLine((l) => l.includes('this worker was declared lost'), 'the worker learning it was lost', 10_000);
        await expectEventually(async () => expect((await listWorkers(cluster.api)).find((w) => w.id === victim)?.status).toBe('active'), {
          timeoutMs: 10_000,
        });
      },
    );
  });

  it('kill -9 of every process, then a restart', async () => {
    await drill('kill -9 everything, restart', async () => {
      const ids = await cluster.submit(JOBS, HOLD_MS);
      await cluster.untilCompleted(ids, 100);
      const apis = cluster.apis.length;
      await Promise.all(cluster.live.map((p) => cluster.kill(p)));
      await Promise.all([...Array.from({ length: apis }, () => cluster.startApi()), ...WORKER_IDS.map((id) => cluster.startWorker(id))]);
      return ids;
    });
  });

  it('every process still running stops cleanly on SIGTERM', async () => {
    const exits = await Promise.all(cluster.live.map(async (p) => ({ process: p.label, exit: await p.stop(15_000) })));
    expect(exits.filter((e) => e.exit.code !== 0)).toEqual([]);
    expect(cluster.crashLines).toEqual([]);
  });
});
