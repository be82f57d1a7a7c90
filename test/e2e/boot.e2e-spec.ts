import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ApiProcess, freePort, ServiceProcess, startApiProcess, startWorkerProcess, stopAllProcesses } from '../support/processes.js';
import { createTestSpace, expectEventually, type TestSpace } from '../support/test-app.js';
import { runTempDir } from '../support/test-env.js';

/**
 * What a person sees when a process starts, spawned with its output piped (as a supervisor or a log
 * file gets it): one short banner, no framework chatter, no colour codes; and a boot that cannot get
 * its port or a number ends with one line that says which variable to change.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/main.js');
const ANSI = /\u001b\[/;
const NOISE = /InstanceLoader|RouterExplorer|RoutesResolver|dependencies initialized|Mapped \{/;
const STACK = /\n\s+at /;

let space: TestSpace;

beforeAll(async () => {
  space = await createTestSpace('boot');
});

afterAll(async () => {
  await stopAllProcesses();
});

function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...space.env({ LOG_LEVEL: 'info', ...extra }) };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

describe('boot banner', () => {
  it('ROLE=all prints one banner: mode, URL, /docs, /ui/, where data lives, settings; no framework lines, no colours', async () => {
    const api = await startApiProcess(space, { ROLE: 'all', DATA_FETCH_ALLOW_PRIVATE: 'true' });
    try {
      const banner = await api.waitForLine((l) => l.startsWith('draconic: ROLE=all'), 'the banner', 10_000);
      const out = api.output();
      expect(banner).toContain('PostgreSQL and Redis');
      expect(out).toContain(`listening on  http://localhost:${api.port}`);
      expect(out).toContain(`http://localhost:${api.port}/docs`);
      expect(out).toContain(`http://localhost:${api.port}/ui/`);
      expect(out).toContain(`Socket.IO http://localhost:${api.port}/jobs/stream`);
      const dbName = new URL(space.databaseUrl).pathname;
      expect(out).toMatch(new RegExp(`database +postgres://127\\.0\\.0\\.1:5432${dbName}`));
      expect(out).toMatch(/queue +Redis redis:\/\/127\.0\.0\.1:6379/);
      expect(out).toContain('settings      environment only (no ./.env)');
      expect(out).toContain('! API_KEYS is empty');
      expect(out).toContain('! DATA_FETCH_ALLOW_PRIVATE=true');
      expect(out).not.toMatch(ANSI);
      expect(out).not.toMatch(NOISE);
      expect(out).not.toContain('EMBEDDED MODE');
      // The whole boot, banner included, fits on a screen.
      expect(out.split('\n').length).toBeLessThanOrEqual(20);
    } finally {
      await api.stop();
    }
  });

  it('stays quiet about keys when API_KEYS is set, and says how long SIGTERM waits for running jobs', async () => {
    const api = await startApiProcess(space, { ROLE: 'all', API_KEYS: 'ci:secret-key-1:admin' });
    const response = await fetch(`${api.baseUrl}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'secret-key-1' },
      body: JSON.stringify({ type: 'noop', payload: { duration_ms: 60_000 } }),
    });
    const job = (await response.json()) as { id: string };
    await expectEventually(async () => {
      const r = await fetch(`${api.baseUrl}/jobs/${job.id}`, { headers: { 'x-api-key': 'secret-key-1' } });
      expect(((await r.json()) as { status: string }).status).toBe('running');
    });
    expect(api.output()).not.toContain('API_KEYS is empty');
    const exit = await api.stop(15_000);
    expect(exit.code).toBe(0);
    expect(api.output()).toContain('waiting up to 0.5 s (SHUTDOWN_GRACE_MS) for 1 running job to finish');
    expect(api.output()).not.toContain('secret-key-1');
  });

  it('ROLE=worker prints its capacity and that it opens no port', async () => {
    const worker = await startWorkerProcess(space, { MAX_CONCURRENT_JOBS: '3' });
    try {
      await worker.waitForLine((l) => l.startsWith('draconic: ROLE=worker'), 'the banner', 10_000);
      expect(worker.output()).toContain('HTTP          none (a worker opens no port)');
      expect(worker.output()).toMatch(/worker +3 slots/);
      expect(worker.output()).not.toMatch(NOISE);
      expect(worker.output()).not.toMatch(ANSI);
    } finally {
      await worker.stop();
    }
  });

  it('names the .env file it read (and uses it)', async () => {
    const dir = mkdtempSync(join(runTempDir(), 'dotenv-'));
    const port = await freePort();
    writeFileSync(join(dir, '.env'), `PORT=${port}\nMAX_CONCURRENT_JOBS=4\n`);
    const child = fork(MAIN, [], { cwd: dir, env: baseEnv({ ROLE: 'all' }), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await expectEventually(() => expect(out).toContain('stop with Ctrl-C'), { timeoutMs: 30_000 });
      expect(out).toContain(`settings      ${join(dir, '.env')} (variables set in the environment win)`);
      expect(out).toContain(`http://localhost:${port}`);
      expect(out).toMatch(/worker +4 slots/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('a boot that cannot start says why in one line', () => {
  let blocker: Server;
  let taken: number;

  beforeAll(async () => {
    taken = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(taken, '0.0.0.0', () => resolve()));
  });

  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
  });

  it('a PORT in use: exit 1, one line naming PORT, no stack', async () => {
    const api = new ApiProcess('taken port', taken, baseEnv({ ROLE: 'all', PORT: String(taken) }));
    const exit = await api.waitForExit(30_000);
    expect(exit.code).toBe(1);
    const lines = api.output().trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^draconic: PORT=${taken} is already in use .*choose a free port`))]);
    expect(api.output()).not.toMatch(STACK);
  });

  it('a worker whose METRICS_PORT is in use: exit 1, one line naming METRICS_PORT, no stack', async () => {
    const worker = new ServiceProcess('taken metrics port', baseEnv({ ROLE: 'worker', METRICS_PORT: String(taken) }));
    const exit = await worker.waitForExit(30_000);
    expect(exit.code).toBe(1);
    expect(worker.output().trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^draconic: METRICS_PORT=${taken} is already in use .*choose a free port`))]);
    expect(worker.output()).not.toMatch(STACK);
  });

  it('without REDIS_URL, a second process on the same DATABASE_URL: exit 1, one line saying why (both would schedule, unfenced)', async () => {
    const first = await startApiProcess(space, { ROLE: 'all', REDIS_URL: '' });
    try {
      const second = new ServiceProcess('second without redis', baseEnv({ ROLE: 'all', PORT: String(await freePort()), REDIS_URL: '' }));
      const exit = await second.waitForExit(30_000);
      expect(exit.code).toBe(1);
      expect(second.output().trim().split('\n')).toEqual([expect.stringMatching(/^draconic: another draconic process runs on this DATABASE_URL without REDIS_URL/)]);
      expect((await first.get('/health')).status).toBe(200);
    } finally {
      first.kill('SIGTERM');
      await first.waitForExit();
    }
  });

  it('a REDIS_URL naming a database the server does not have: exit 1, one line naming REDIS_URL, no key written anywhere', async () => {
    const url = new URL(space.env({}).REDIS_URL);
    url.pathname = '/99';
    const prefix = `${space.redisPrefix}-db99`;
    const proc = new ServiceProcess('redis db 99', baseEnv({ ROLE: 'all', PORT: String(await freePort()), REDIS_URL: url.toString(), REDIS_PREFIX: prefix }));
    const exit = await proc.waitForExit(30_000);
    expect(exit.code).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^draconic: invalid configuration: REDIS_URL: the Redis server refused database 99 \(ERR DB index is out of range\)/)]);
    // ioredis goes on on database 0 after a refused SELECT: the boot must stop before anything is written there.
    url.pathname = '/0';
    const redis = new Redis(url.toString());
    try {
      expect(await redis.keys(`${prefix}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('an EXPORT_DIR that cannot be created: exit 1, one line naming EXPORT_DIR (a process that runs jobs only)', async () => {
    const proc = new ServiceProcess('bad export dir', baseEnv({ ROLE: 'worker', EXPORT_DIR: '/proc/draconic-exports' }));
    const exit = await proc.waitForExit(30_000);
    expect(exit.code).toBe(1);
    expect(proc.output().trim().split('\n')).toEqual([
      expect.stringMatching(/^draconic: invalid configuration: EXPORT_DIR="\/proc\/draconic-exports": cannot be created or written \(ENOENT\)/),
    ]);
  });

  it('a second worker process under a WORKER_ID a live one holds: exit 1, one line naming WORKER_ID; the first goes on', async () => {
    const first = await startWorkerProcess(space, { WORKER_ID: 'boot-same-id' });
    const second = new ServiceProcess('same WORKER_ID', baseEnv({ ROLE: 'worker', WORKER_ID: 'boot-same-id' }));
    const exit = await second.waitForExit(30_000);
    expect(exit.code).toBe(1);
    expect(second.output()).toMatch(/^draconic: WORKER_ID boot-same-id is in use by a live worker \(pid \d+ on .+\), whose heartbeat goes on/m);
    expect(second.output()).not.toMatch(/\n\s+at /);
    expect(first.running).toBe(true);
    // Once the first has stopped, the id is free again.
    await first.stop();
    const third = await startWorkerProcess(space, { WORKER_ID: 'boot-same-id' });
    await third.stop();
  });

  it('heartbeats further apart than a quarter of WORKER_LOST_SECONDS: exit 1, one message naming both', async () => {
    const proc = new ServiceProcess('slow heartbeat', baseEnv({ ROLE: 'worker', HEARTBEAT_INTERVAL_MS: '20000' }));
    const exit = await proc.waitForExit(30_000);
    expect(exit.code).toBe(1);
    expect(proc.output().trim().split('\n')).toEqual([
      expect.stringMatching(/^draconic: invalid configuration: HEARTBEAT_INTERVAL_MS=20000: must be at most a quarter of WORKER_LOST_SECONDS \(15 s\)/),
    ]);
  });

  it.each([['abc'], ['80.5'], ['70000']])('PORT=%s: exit 1, one message', async (value) => {
    const proc = new ServiceProcess(`PORT=${value}`, baseEnv({ ROLE: 'all', PORT: value }));
    const exit = await proc.waitForExit(30_000);
    expect(exit.code).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^draconic: invalid configuration: PORT=.*${value.replace('.', '\\.')}.*: must `))]);
  });
});
