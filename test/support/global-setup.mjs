// Plain ESM (Jest runs global setup outside its transform): imports the build that `pretest` made.
import 'reflect-metadata';
import pg from 'pg';
import { parseConfig } from '../../dist/src/config/load-config.js';
import { runMigrations } from '../../dist/src/database/prepare-database.js';
import { databaseUrl, templateDatabase, TEST_DATABASE_URL, TEST_REDIS_URL } from '../../dist/test/support/test-env.js';

/** Creates this run's template database with the real migrations; each spec file clones it. */
export default async function globalSetup() {
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  process.env.DRACONIC_TEST_RUN = run;
  const template = templateDatabase(run);
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(template)}`);
  } finally {
    await admin.end();
  }
  const config = parseConfig({ DATABASE_URL: databaseUrl(template), REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'warn' });
  await runMigrations(config);
}
