import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the test run's services live and what this run is called, for the specs and (built, from
 * dist/) the global setup and teardown. Test code may read process.env: the "config in one place"
 * rule is for src/.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export function runId(): string {
  const id = process.env.DRACONIC_TEST_RUN;
  if (!id) throw new Error('DRACONIC_TEST_RUN is not set: run the e2e tests through jest (global-setup sets it)');
  return id;
}

export const templateDatabase = (run: string) => `draconic_test_${run}_template`;

/** A run's folder under the OS temp dir (the global teardown removes it). */
export const tempDirOf = (run: string) => join(tmpdir(), `draconic-test-${run}`);

/** This run's folder under the OS temp dir: every file a test writes goes below it. */
export function runTempDir(): string {
  const dir = tempDirOf(runId());
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
