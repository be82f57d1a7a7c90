import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../config/load-config.js';
import { deploymentOf } from '../../config/deployment.js';
import { bootBanner, withoutCredentials } from './boot-banner.js';

const shared = { DATABASE_URL: 'postgres://app:s3cret@db.internal:5432/draconic', REDIS_URL: 'redis://:hunter2@cache:6379/0' };
const bannerOf = (env: Record<string, string>, extra: { port?: number; tty?: boolean; envFile?: string | null } = {}) => {
  const config = parseConfig(env);
  return bootBanner({ config, deployment: deploymentOf(config), envFile: extra.envFile ?? null, port: extra.port, tty: extra.tty ?? false }).join('\n');
};

describe(bootBanner.name, () => {
  it('says where to go and where the data lives, and never shows a password', () => {
    const text = bannerOf({ ...shared, ROLE: 'api', API_KEYS: 'ci:k:admin' }, { port: 8001, envFile: '/srv/draconic/.env' });
    expect(text).toContain('draconic: ROLE=api, PostgreSQL and Redis');
    expect(text).toContain('listening on  http://localhost:8001');
    expect(text).toContain('http://localhost:8001/docs');
    expect(text).toContain('http://localhost:8001/ui/');
    expect(text).toContain('postgres://db.internal:5432/draconic');
    expect(text).toContain('redis://cache:6379/0');
    expect(text).toContain('/srv/draconic/.env (variables set in the environment win)');
    expect(text).not.toMatch(/s3cret|hunter2|\u001b\[|!/);
  });

  it('warns of an open API, private fetches and the embedded mode', () => {
    const text = bannerOf({ DATA_FETCH_ALLOW_PRIVATE: 'true' }, { port: 8000 });
    expect(text).toContain('! EMBEDDED MODE');
    expect(text).toContain('! API_KEYS is empty: anyone who can reach port 8000');
    expect(text).toContain('! DATA_FETCH_ALLOW_PRIVATE=true');
    expect(text).toContain('settings      environment only (no ./.env)');
  });

  it("warns when a job's default resources exceed what the API accepts, not on a worker", () => {
    const text = bannerOf({ ...shared, MAX_MEMORY_MB: '64' }, { port: 8000 });
    expect(text).toContain('! MAX_CPU_UNITS=8, MAX_MEMORY_MB=64 is below what a job asks for by default (1 cpu unit, 128 MB)');
    expect(bannerOf({ ...shared, ROLE: 'worker', MAX_MEMORY_MB: '64' })).not.toContain('below what a job asks for');
    expect(bannerOf({ ...shared, MAX_MEMORY_MB: '128' }, { port: 8000 })).not.toContain('below what a job asks for');
  });

  it('names each half of a mixed setup as it runs (one URL set)', () => {
    expect(bannerOf({ REDIS_URL: shared.REDIS_URL }, { port: 8000 })).toContain('draconic: ROLE=all, embedded mode (PGlite, Redis)');
    expect(bannerOf({ DATABASE_URL: shared.DATABASE_URL }, { port: 8000 })).toContain('draconic: ROLE=all, embedded mode (PostgreSQL, in-process queue)');
    expect(bannerOf({}, { port: 8000 })).toContain('draconic: ROLE=all, embedded mode (PGlite, in-process queue)');
  });

  it('shows a worker its capacity and no URL', () => {
    const text = bannerOf({ ...shared, ROLE: 'worker', MAX_CONCURRENT_JOBS: '3' });
    expect(text).toContain('HTTP          none (a worker opens no port)');
    expect(text).toMatch(/worker +3 slots/);
    expect(text).not.toContain('API_KEYS');
  });

  it('makes the title bold on a terminal only', () => {
    expect(bannerOf(shared, { port: 8000, tty: true }).split('\n')[0]).toMatch(/^\u001b\[1mdraconic: .*\u001b\[0m$/);
    expect(bannerOf(shared, { port: 8000, tty: false })).not.toMatch(/\u001b/);
  });

  it('drops credentials and queries from URLs', () => {
    expect(withoutCredentials('postgres://u:p@h:5432/db?sslmode=require')).toBe('postgres://h:5432/db');
    expect(withoutCredentials('not a url')).toBe('(unparsable URL)');
  });
});
