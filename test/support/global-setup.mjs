// Plain ESM (Jest runs global setup outside its transform): imports the build that `pretest` made.
import 'reflect-metadata';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../../dist/src/config/load-config.js';
import { runMigrations } from '../../dist/src/database/prepare-database.js';
import { databaseUrl, templateDatabase, TEST_DATABASE_URL, TEST_REDIS_URL } from '../../dist/test/support/test-env.js';

/** A run's temp folder untouched for this long belongs to a run that was killed before its teardown. */
const STALE_RUN_FOLDER_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the temp folders (`draconic-test-<run>`, test/support/test-env.ts runTempDir) of runs killed
 * before their global teardown could remove them; a live run's folder is never a day old.
 */
async function removeStaleRunFolders() {
  const now = Date.now();
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith('draconic-test-')) continue;
    const path = join(tmpdir(), name);
    const info = await stat(path).catch(() => null);
    if (info?.isDirectory() && now - info.mtimeMs > STALE_RUN_FOLDER_MS) await rm(path, { recursive: true, force: true });
  }
}

/** Creates this run's template database with the real migrations; each spec file clones it. */
export default async function globalSetup() {
  await removeStaleRunFolders();
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
