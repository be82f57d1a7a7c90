import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { parseConfig } from '../../src/config/load-config.js';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { databaseUrl, runId, TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/test-env.js';

/**
 * Upgrading a database whose schedule templates were stored with a `null` for a field that may only be
 * left out (accepted then, refused now): the migration removes those nulls, so the schedules keep firing.
 */
const url = databaseUrl(`draconic_test_${runId()}_template_nulls`);
/** The migration under test: the ones before it build the schema it starts from. */
const LAST = MIGRATIONS.findIndex((m) => m.name === 'ScheduleTemplateNulls1796700000000');
let client: pg.Client;

async function migrate(migrations: typeof MIGRATIONS): Promise<void> {
  const config = parseConfig({ DATABASE_URL: url, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'warn' });
  const source = new DataSource({ ...dataSourceOptions(config), migrations, logging: false });
  await source.initialize();
  try {
    await source.runMigrations({ transaction: 'each' });
  } finally {
    await source.destroy();
  }
}

const templates: Record<string, unknown> = {
  nulls: { type: 'noop', priority: null, max_attempts: null, payload: { duration_ms: null, echo: { kept: null } } },
  'null payload': { type: 'noop', payload: null },
  clean: { type: 'noop', payload: { echo: [1, null] } },
};

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(new URL(url).pathname.slice(1))}`);
  } finally {
    await admin.end();
  }
  expect(LAST).toBeGreaterThan(0);
  await migrate(MIGRATIONS.slice(0, LAST));
  client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const [name, job] of Object.entries(templates)) {
    await client.query(`INSERT INTO schedules (id, name, cron, job) VALUES ($1, $2, '* * * * *', $3)`, [randomUUID(), name, JSON.stringify(job)]);
  }
  await migrate(MIGRATIONS);
}, 60_000);

afterAll(async () => {
  await client?.end();
});

describe('the migration of stored schedule templates', () => {
  it('removes the nulls of the template and of its payload, leaving deeper JSON as stored', async () => {
    const { rows } = await client.query<{ name: string; job: unknown }>(`SELECT name, job FROM schedules ORDER BY name`);
    expect(Object.fromEntries(rows.map((r) => [r.name, r.job]))).toEqual({
      nulls: { type: 'noop', payload: { echo: { kept: null } } },
      'null payload': { type: 'noop' },
      clean: { type: 'noop', payload: { echo: [1, null] } },
    });
  });
});
