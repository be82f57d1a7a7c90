import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { parseConfig } from '../../src/config/load-config.js';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { Sql } from '../../src/database/sql.js';
import { TableStatistics } from '../../src/database/table-statistics.js';
import { createTestSpace, expectEventually } from '../support/test-app.js';

/**
 * TableStatistics on a real database of its own (no app, so no scheduler sweep analyzes behind the
 * test's back): a hot table is analyzed once it holds 1,000 rows, then again each time it has grown
 * fourfold, and never in between.
 */
describe('TableStatistics', () => {
  let db: DataSource;
  let admin: pg.Client;
  let statistics: TableStatistics;

  /** Inserts n jobs from a session that then ends, so its row counts reach pg_stat_user_tables. */
  async function insertJobs(databaseUrl: string, n: number): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(
      `INSERT INTO jobs (id, type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds)
       SELECT gen_random_uuid(), 'noop', 'completed', 3, 2, 1000, 60000, 60 FROM generate_series(1, $1)`,
      [n],
    );
    await client.end();
  }

  const liveRows = async () =>
    Number((await admin.query(`SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'jobs'`)).rows[0].n_live_tup);
  const statisticsRows = async () => Number((await admin.query(`SELECT reltuples FROM pg_class WHERE relname = 'jobs'`)).rows[0].reltuples);

  let databaseUrl: string;
  beforeAll(async () => {
    const space = await createTestSpace('table_statistics');
    databaseUrl = space.databaseUrl;
    const config = parseConfig(space.env({ ROLE: 'all' }));
    db = new DataSource(dataSourceOptions(config));
    await db.initialize();
    statistics = new TableStatistics(new Sql(db));
    admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await db?.destroy();
  });

  it('leaves a table below 1,000 rows alone', async () => {
    await insertJobs(databaseUrl, 999);
    await expectEventually(async () => expect(await liveRows()).toBe(999));
    expect(await statistics.refreshGrown()).toEqual([]);
    expect(await statisticsRows()).toBeLessThan(1); // never analyzed: -1 (or 0)
  });

  it('analyzes it at 1,000 rows, then not again until it has grown fourfold', async () => {
    await insertJobs(databaseUrl, 1);
    await expectEventually(async () => expect(await liveRows()).toBe(1000));
    expect(await statistics.refreshGrown()).toEqual(['jobs']);
    expect(await statisticsRows()).toBe(1000);
    expect(await statistics.refreshGrown()).toEqual([]);

    await insertJobs(databaseUrl, 3000); // 4,000: not more than four times 1,000
    await expectEventually(async () => expect(await liveRows()).toBe(4000));
    expect(await statistics.refreshGrown()).toEqual([]);

    await insertJobs(databaseUrl, 1); // 4,001
    await expectEventually(async () => expect(await liveRows()).toBe(4001));
    expect(await statistics.refreshGrown()).toEqual(['jobs']);
    expect(await statisticsRows()).toBe(4001);
  });
});
