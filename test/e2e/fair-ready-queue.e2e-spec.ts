import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { parseConfig } from '../../src/config/load-config.js';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { Sql } from '../../src/database/sql.js';
import { ReadyCandidatesRepository } from '../../src/jobs/ready-candidates.repository.js';
import { PlacementRepository } from '../../src/resources/placement.repository.js';
import { fairOrder } from '../../src/scheduler/domain/ready-read.js';
import { createTestSpace } from '../support/test-app.js';

/**
 * The fair ready queue (DESIGN §10, §12) on a real database of its own (no app, so no scheduler
 * places the rows behind the test's back): keys take turns, each key's share is the jobs due
 * earliest (a delayed job is due at its run_at, not at its submit), and what the rules hold back as
 * a whole is left out without holding back the other types of the same key.
 */
describe('ReadyCandidatesRepository.fairReadyQueue', () => {
  let db: DataSource;
  let admin: pg.Client;
  let repo: ReadyCandidatesRepository;
  let head: PlacementRepository;

  interface Row {
    ref: string;
    type?: string;
    key: string | null;
    /** Seconds before now. */
    createdAgo: number;
    /** Seconds before now, or none. */
    runAtAgo?: number;
    priority?: 'low' | 'normal' | 'high' | 'critical';
  }

  /** A job of `type` under `key` (null: none), named `<key or plain>-<type><suffix>`. */
  const typed = (type: string, key: string | null, createdAgo: number, suffix = ''): Row => ({ ref: `${key ?? 'plain'}-${type}${suffix}`, type, key, createdAgo });

  async function insert(rows: Row[]): Promise<void> {
    for (const r of rows) {
      await admin.query(
        `INSERT INTO jobs (id, ref, type, status, priority, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds,
                           concurrency_key, created_at, run_at)
         VALUES (gen_random_uuid(), $1, $2, 'ready', $3, 1, 2, 1000, 60000, 60, $4,
                 now() - make_interval(secs => $5), CASE WHEN $6::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $6::float8) END)`,
        [r.ref, r.type ?? 'noop', r.priority ?? 'normal', r.key, r.createdAgo, r.runAtAgo ?? null],
      );
    }
  }

  /**
   * The fair query's order, as refs. Every case also checks that the placement pass's other way to the
   * same order, the plain head read whole and ordered by fairOrder, gives exactly the same jobs in the same order.
   */
  async function refs(limit: number, held = { types: [] as string[], pairs: [] as Array<{ type: string; key: string }> }): Promise<string[]> {
    const jobs = await repo.fairReadyQueue(limit, held);
    const whole = await head.readyQueue(1000);
    expect(fairOrder(whole, held, limit).map((j) => j.id)).toEqual(jobs.map((j) => j.id));
    const byId = new Map(
      (await admin.query(`SELECT id, ref FROM jobs WHERE id = ANY($1::uuid[])`, [jobs.map((j) => j.id)])).rows.map((r) => [r.id as string, r.ref as string]),
    );
    return jobs.map((j) => byId.get(j.id)!);
  }

  beforeAll(async () => {
    const space = await createTestSpace('fair_ready_queue');
    db = new DataSource(dataSourceOptions(parseConfig(space.env({ ROLE: 'all' }))));
    await db.initialize();
    repo = new ReadyCandidatesRepository(new Sql(db));
    head = new PlacementRepository(new Sql(db));
    admin = new pg.Client({ connectionString: space.databaseUrl });
    await admin.connect();
  });

  beforeEach(async () => {
    await admin.query(`DELETE FROM jobs`);
  });

  afterAll(async () => {
    await admin?.end();
    await db?.destroy();
  });

  it('gives keys turns: a key with 10 jobs does not delay a key with 2 by more than one turn', async () => {
    await insert([
      ...Array.from({ length: 10 }, (_, i) => ({ ref: `big${i}`, key: 'big', createdAgo: 100 - i })),
      { ref: 'small0', key: 'small', createdAgo: 50 },
      { ref: 'small1', key: 'small', createdAgo: 49 },
      { ref: 'plain0', key: null, createdAgo: 40 },
    ]);
    expect(await refs(6)).toEqual(['big0', 'small0', 'plain0', 'big1', 'small1', 'big2']);
  });

  it("takes each key's share by due time: a delayed job submitted first waits behind the jobs due before it", async () => {
    await insert([
      { ref: 'late', key: 'a', createdAgo: 100, runAtAgo: 10 }, // submitted first, due last
      { ref: 'a1', key: 'a', createdAgo: 50 },
      { ref: 'a2', key: 'a', createdAgo: 40 },
      { ref: 'b1', key: 'b', createdAgo: 30 },
    ]);
    // Two keys in a window of 4: a share of 2 each; key a's are the two due earliest.
    expect(await refs(4)).toEqual(['a1', 'b1', 'a2']);
    expect(await refs(10)).toEqual(['a1', 'b1', 'a2', 'late']);
  });

  it('orders by priority before turns', async () => {
    await insert([
      { ref: 'a-normal', key: 'a', createdAgo: 100 },
      { ref: 'a-high', key: 'a', createdAgo: 10, priority: 'high' },
      { ref: 'b-normal', key: 'b', createdAgo: 90 },
    ]);
    expect(await refs(10)).toEqual(['a-high', 'a-normal', 'b-normal']);
  });

  it('leaves out a held (type, key) pair and a held type, never the other types of the same key', async () => {
    await insert([
      typed('email', 'k', 100),
      typed('noop', 'k', 90),
      typed('fetch', 'k', 80),
      typed('email', 'j', 70),
      typed('fetch', null, 60),
      typed('noop', null, 50),
    ]);
    const held = { types: ['fetch'], pairs: [{ type: 'email', key: 'k' }] };
    expect(await refs(10, held)).toEqual(['k-noop', 'j-email', 'plain-noop']);
  });

  it("counts a key's share across its types: a key with two types gets no more of the window than its share", async () => {
    await insert([
      typed('email', 'k', 100, '0'),
      typed('noop', 'k', 99, '0'),
      typed('email', 'k', 98, '1'),
      typed('noop', 'k', 97, '1'),
      { ref: 'm0', key: 'm', createdAgo: 50 },
    ]);
    // Two keys in a window of 4: a share of 2 each; key k's are its two due earliest, whatever their type.
    expect(await refs(4)).toEqual(['k-email0', 'm0', 'k-noop0']);
  });

  it('gives the same order both ways on a mixed ready set: keys, priorities, delays, held types and pairs, several windows', async () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const priorities = ['low', 'normal', 'high', 'critical'] as const;
    const keys = ['a', 'b', 'c', 'd', null, null];
    const types = ['noop', 'email', 'fetch'];
    await insert(
      Array.from({ length: 240 }, (_, i) => ({
        ref: `r${i}`,
        type: types[next(types.length)],
        key: keys[next(keys.length)]!,
        createdAgo: 1000 - next(900),
        runAtAgo: next(4) === 0 ? next(900) : undefined,
        priority: priorities[next(priorities.length)],
      })),
    );
    const held = { types: ['fetch'], pairs: [{ type: 'email', key: 'b' }] };
    for (const limit of [1, 7, 50, 100, 500]) {
      expect((await refs(limit)).length).toBeGreaterThan(0);
      expect((await refs(limit, held)).length).toBeGreaterThan(0);
    }
  });
});
