// Plain ESM (Jest runs global teardown outside its transform): imports the build that `pretest` made.
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TEST_DATABASE_URL, TEST_REDIS_URL, tempDirOf } from '../../dist/test/support/test-env.js';

/** Removes every database, Redis key and temp folder this run created (only this run's: never FLUSHALL). */
export default async function globalTeardown() {
  const run = process.env.DRACONIC_TEST_RUN;
  if (!run) return;
  // The run's temp folder: exports, outboxes, embedded data.
  await rm(tempDirOf(run), { recursive: true, force: true });
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`draconic_test_${run}_%`]);
    for (const { datname } of rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `test:${run}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
