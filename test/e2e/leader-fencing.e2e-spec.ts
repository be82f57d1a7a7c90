import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { parseConfig } from '../../src/config/load-config.js';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { Sql } from '../../src/database/sql.js';
import { JobStartsRepository } from '../../src/jobs/job-starts.repository.js';
import { PlacementRepository } from '../../src/resources/placement.repository.js';
import { PgAdvisoryLeaderElection } from '../../src/leadership/pg-advisory-leader-election.js';
import { PgFaults } from '../support/pg-faults.js';
import { PgProxy } from '../support/pg-proxy.js';
import { createTestSpace, expectEventually, type TestSpace } from '../support/test-app.js';

/**
 * The scheduler's leadership on a real database, without an app around it: two elections (as two
 * API instances would run) and the placement statements they fence. WORKER_LOST_SECONDS=2 gives a
 * lease of 1 s. The first election reaches PostgreSQL through a proxy, so it alone can be cut off.
 */

const WORKER_LOST_SECONDS = 2;

let space: TestSpace;
let faults: PgFaults;
let proxy: PgProxy;
let db: DataSource;
let placements: PlacementRepository;
let starts: JobStartsRepository;
const elections: PgAdvisoryLeaderElection[] = [];

beforeAll(async () => {
  space = await createTestSpace('leader_fencing');
  faults = await PgFaults.for(space);
  proxy = await PgProxy.start(space.databaseUrl);
  db = new DataSource(dataSourceOptions(parseConfig(space.env({ ROLE: 'api' }))));
  await db.initialize();
  placements = new PlacementRepository(new Sql(db));
  starts = new JobStartsRepository(new Sql(db));
  await faults.query(
    `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb) VALUES ('w1', 'test', 1, 'active', 10, 8, 4096)`,
  );
});

afterAll(async () => {
  for (const election of elections) await election.stop();
  await db?.destroy();
  await Promise.all([faults?.close(), proxy?.close()]);
});

function election(url: string): { election: PgAdvisoryLeaderElection; changes: boolean[] } {
  const e = new PgAdvisoryLeaderElection(url, WORKER_LOST_SECONDS);
  const changes: boolean[] = [];
  e.onChange((leader) => changes.push(leader));
  elections.push(e);
  return { election: e, changes };
}

async function readyJob(): Promise<string> {
  const [row] = await faults.query<{ id: string }>(
    `INSERT INTO jobs (id, type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds, queued_at)
     VALUES (gen_random_uuid(), 'noop', 'ready', 3, 2, 1000, 60000, 60, now()) RETURNING id`,
  );
  return row!.id;
}

const currentEpoch = async () => Number((await faults.query<{ epoch: string }>(`SELECT epoch FROM scheduler_leadership WHERE id = 1`))[0]!.epoch);

describe('a leader cut off from PostgreSQL', () => {
  it('steps down on its own clock, is replaced once PostgreSQL ends its idle session, and its placements are fenced', async () => {
    const first = election(proxy.url(space.databaseUrl));
    const second = election(space.databaseUrl);
    await first.election.start();
    expect(first.election.isLeader()).toBe(true);
    await second.election.start();
    expect(second.election.isLeader()).toBe(false);
    const firstEpoch = first.election.epoch();
    expect(firstEpoch).toBe(await currentEpoch());

    proxy.set('blackhole'); // its renewals hang; PostgreSQL sees an idle session
    try {
      await expectEventually(() => expect(first.election.isLeader()).toBe(false), { timeoutMs: 5000 });
      await expectEventually(() => expect(second.election.isLeader()).toBe(true), { timeoutMs: 10_000, intervalMs: 50 });
    } finally {
      proxy.set('pass');
    }
    expect(first.changes).toEqual([true, false]);
    const secondEpoch = second.election.epoch();
    expect(secondEpoch).toBeGreaterThan(firstEpoch);
    expect(await currentEpoch()).toBe(secondEpoch);

    // What a deposed leader that has not noticed yet would write: nothing, and it learns so.
    const job = await readyJob();
    expect(await placements.place([{ id: job, workerId: 'w1' }], firstEpoch)).toEqual({ leading: false, placed: [] });
    expect((await starts.placeAndStart([job], 'w1', firstEpoch)).jobs).toEqual([]);
    expect(await placements.isCurrentEpoch(firstEpoch)).toBe(false);
    expect(await placements.place([{ id: job, workerId: 'w1' }], secondEpoch)).toEqual({ leading: true, placed: [{ id: job, workerId: 'w1', attempts: 0 }] });
    expect(await placements.unplace([job], firstEpoch)).toEqual({ leading: false, taken: [] });
    expect(await placements.unplace([job], secondEpoch)).toEqual({ leading: true, taken: [job] });

    // A worker declared lost after the pass read the workers takes no placement (it would hold the job for seconds).
    await faults.query(`UPDATE workers SET status = 'lost' WHERE id = 'w1'`);
    expect(await placements.place([{ id: job, workerId: 'w1' }], secondEpoch)).toEqual({ leading: true, placed: [] });
  });
});

describe('a takeover while the leader has a placement under way', () => {
  it('waits for that placement to commit before the new epoch begins', async () => {
    const epoch = elections.find((e) => e.isLeader())!.epoch();
    // A placement of the current term in flight: it holds the leadership row FOR SHARE until it commits.
    const placing = new pg.Client({ connectionString: space.databaseUrl, application_name: 'draconic-test-faults' });
    placing.on('error', () => undefined);
    await placing.connect();
    try {
      await placing.query('BEGIN');
      await placing.query(`SELECT 1 FROM scheduler_leadership WHERE id = 1 AND epoch = $1 FOR SHARE`, [epoch]);
      // The leader's lock connection goes (its backend terminated): the next to take the lock (either
      // election) waits on the row with its epoch increment, and nobody leads meanwhile.
      // This database's holder: pg_locks lists the whole cluster, where other services hold the same lock in their databases.
      const [holder] = await faults.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 7236002 AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      await faults.query(`SELECT pg_terminate_backend($1)`, [holder!.pid]);
      await expectEventually(async () => {
        const waiting = await faults.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'draconic-leader-election' AND wait_event_type = 'Lock'`);
        expect(waiting).toHaveLength(1);
      }, { timeoutMs: 10_000 });
      // The old leader learns of its lost connection on its own clock (a busy machine delays it); the
      // waiting successor has no term yet, so once the old one steps down nobody leads.
      await expectEventually(() => expect(elections.map((e) => e.isLeader())).toEqual([false, false]), { timeoutMs: 5000 });
      expect(await currentEpoch()).toBe(epoch);
    } finally {
      await placing.query('COMMIT');
      await placing.end();
    }
    const leader = await expectEventually(() => {
      const leaders = elections.filter((e) => e.isLeader());
      expect(leaders).toHaveLength(1);
      return leaders[0]!;
    }, { timeoutMs: 10_000 });
    expect(leader.epoch()).toBeGreaterThan(epoch);
    expect(await currentEpoch()).toBe(leader.epoch());
  });
});
