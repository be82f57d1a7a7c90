import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { parseConfig } from '../../src/config/load-config.js';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { Sql } from '../../src/database/sql.js';
import { PlacementRepository } from '../../src/resources/placement.repository.js';
import { createTestSpace } from '../support/test-app.js';

/**
 * Waiting reasons are notes the scheduler rewrites at its next refresh: writing them never waits for a
 * row another transaction holds (and so never deadlocks with one, failing the placement pass it is part of).
 */
describe('writing waiting reasons beside transactions that hold some of the rows', () => {
  let db: DataSource;
  let session: pg.Client;
  let holder: pg.Client;

  beforeAll(async () => {
    const space = await createTestSpace('waiting_reasons_locks');
    db = new DataSource(dataSourceOptions(parseConfig(space.env({ ROLE: 'api' }))));
    await db.initialize();
    session = new pg.Client({ connectionString: space.databaseUrl });
    holder = new pg.Client({ connectionString: space.databaseUrl });
    await Promise.all([session.connect(), holder.connect()]);
  });

  afterAll(async () => {
    await Promise.all([session?.end(), holder?.end()]);
    await db?.destroy();
  });

  it('skips the rows another transaction holds and writes the others at once', async () => {
    const ids = ['00000000-0000-7000-8000-00000000000a', '00000000-0000-7000-8000-00000000000b'];
    await session.query(
      `INSERT INTO jobs (id, type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds)
       SELECT id, 'noop', 'ready', 3, 2, 1000, 60000, 60 FROM unnest($1::uuid[]) AS id`,
      [ids],
    );
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [ids[0]]);
    try {
      const reason = { code: 'NO_WORKERS' as const, message: 'no worker is registered' };
      const written = new PlacementRepository(new Sql(db)).setWaitingReasons(ids.map((id) => ({ id, reason })));
      const outcome = await Promise.race([written.then(() => 'written'), new Promise((resolve) => setTimeout(() => resolve('waited'), 3000))]);
      expect(outcome).toBe('written');
      const { rows } = await session.query(`SELECT id, waiting_reason->>'code' AS code FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids]);
      expect(rows).toEqual([
        { id: ids[0], code: null },
        { id: ids[1], code: 'NO_WORKERS' },
      ]);
    } finally {
      await holder.query('ROLLBACK');
    }
  });
});
