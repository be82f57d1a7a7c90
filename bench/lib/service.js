// Start and stop one draconic service process for a benchmark, on a fresh PostgreSQL database and a
// fresh Redis prefix, and clean both up afterwards.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
export const LOGS_DIR = join(RESULTS_DIR, 'logs');

/** Server URL without a database (the admin connection uses its `postgres` database). */
const PG_SERVER_URL = (process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** The service to run: this checkout's build, or another's (BENCH_MAIN_JS) to compare two builds side by side. */
const MAIN_JS = process.env.BENCH_MAIN_JS ? resolve(process.env.BENCH_MAIN_JS) : join(REPO_ROOT, 'dist', 'src', 'main.js');

/**
 * Node's flags for the service: those `npm run start:prod` runs it with (package.json, the one place they
 * are written), then BENCH_NODE_ARGS (e.g. `--cpu-prof`, or `--max-semi-space-size=16` to override one).
 */
export function serviceNodeArgs() {
  const startProd = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts['start:prod'];
  // `exec` hands the shell's pid (and so the signals a supervisor sends) to node.
  const flags = /^(?:exec\s+)?node\s+(.*?)\s*dist\/src\/main\.js$/.exec(startProd);
  if (!flags) throw new Error(`package.json start:prod is not "[exec] node [flags] dist/src/main.js": ${startProd}`);
  return [...flags[1].split(/\s+/), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ')].filter(Boolean);
}

let lastStamp = 0;
/** Date.now(), but strictly increasing within this process (so two services never share a name). */
function uniqueStamp() {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return lastStamp;
}

/** A Redis key prefix of its own (`bench:<stamp>`) for something the bench runs beside a service. */
export function benchRedisPrefix() {
  return `bench:${uniqueStamp()}`;
}

/** A TCP port that was free a moment ago. */
async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Every live service started by this process, so the orchestrator can stop them on failure or Ctrl-C. */
export const liveServices = new Set();

/**
 * Spawns `node dist/src/main.js` and waits for `GET /health` to return 200.
 *
 * @param {object} [opts]
 * @param {string} [opts.label]  used in the log file name
 * @param {'all'|'api'|'worker'} [opts.role]
 * @param {Record<string,string>} [opts.env]  extra environment for the service
 * @param {number} [opts.startTimeoutMs]
 * @param {number} [opts.stopTimeoutMs]  SIGTERM, then SIGKILL after this long
 * @returns {Promise<Service>}
 */
export async function startService(opts = {}) {
  const { label = 'service', role = 'all', env = {}, startTimeoutMs = 60_000, stopTimeoutMs = 20_000 } = opts;
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
  const stamp = uniqueStamp();
  const dbName = `draconic_bench_${stamp}`;
  const redisPrefix = `bench:${stamp}`;
  const port = await freePort();
  mkdirSync(LOGS_DIR, { recursive: true });
  const logFile = join(LOGS_DIR, `${stamp}-${label.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`);
  const log = createWriteStream(logFile);
  await once(log, 'open');

  const child = spawn(process.execPath, [...serviceNodeArgs(), MAIN_JS], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: `${PG_SERVER_URL}/${dbName}`,
      REDIS_URL,
      REDIS_PREFIX: redisPrefix,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ROLE: role,
      API_KEYS: '', // an inherited key would make every request a 401
      NO_COLOR: '1', // Nest's boot-time console logger would write ANSI colours into the log file
      RUN_MIGRATIONS: 'true',
      // The throughput scenarios measure the engine, from one address: the door scenario sets its own limit.
      RATE_LIMIT_MAX: '0',
      // A worker serves no API: its GET /health (and /metrics) listen on METRICS_PORT.
      ...(role === 'worker' ? { METRICS_PORT: String(port) } : {}),
      ...env,
    },
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = once(child, 'exit').then(
    ([code, signal]) => ({ code, signal }),
    (error) => ({ code: null, signal: null, error }),
  );
  let exitInfo;
  void exited.then((info) => (exitInfo = info));

  const service = {
    label,
    role,
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    dbName,
    databaseUrl: `${PG_SERVER_URL}/${dbName}`,
    redisUrl: REDIS_URL,
    redisPrefix,
    logFile,
    stopped: false,
    /** Stops the process (SIGTERM, SIGKILL after the deadline), then drops the database and the Redis keys. */
    async stop() {
      if (service.stopped) return service.cleanup;
      service.stopped = true;
      liveServices.delete(service);
      let how = 'already exited';
      if (!exitInfo) {
        child.kill('SIGTERM');
        let timer;
        const deadline = new Promise((r) => (timer = setTimeout(() => r(null), stopTimeoutMs)));
        const result = await Promise.race([exited, deadline]);
        clearTimeout(timer);
        if (result) {
          how = `SIGTERM (exit ${result.code ?? result.signal})`;
        } else {
          child.kill('SIGKILL');
          await exited;
          how = `SIGKILL after ${stopTimeoutMs} ms`;
        }
      }
      await new Promise((r) => log.end(r));
      const statements = process.env.BENCH_PG_STATEMENTS === '1' ? { statements: await topStatements(dbName) } : {};
      service.cleanup = { how, ...statements, ...(await cleanup(dbName, redisPrefix)) };
      return service.cleanup;
    },
  };
  liveServices.add(service);

  // Wait for readiness (or an early exit).
  const deadline = Date.now() + startTimeoutMs;
  let lastError = 'no answer yet';
  while (true) {
    if (exitInfo) {
      await service.stop();
      throw new Error(
        `service exited during start-up (code ${exitInfo.code}, signal ${exitInfo.signal}); log ${logFile}:\n${tail(logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`service not healthy after ${startTimeoutMs} ms (${lastError}); log ${logFile}:\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${service.url}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
      lastError = `GET /health ${res.status}`;
      await res.body?.cancel();
    } catch (e) {
      lastError = e.cause?.code ?? e.message;
    }
    await sleep(200);
  }
  return service;
}

/** Stops every service still running (for errors and signals). */
export async function stopAllServices() {
  await Promise.allSettled([...liveServices].map((s) => s.stop()));
}

/**
 * BENCH_PG_STATEMENTS=1: the 15 statements that took the most execution time in the service's database, from
 * pg_stat_statements (its statistics are kept per database, and every service has a fresh one, so no reset is
 * needed). Only when the server has the library loaded (`shared_preload_libraries`, see bench/README.md): then
 * the extension is created in the bench database, which is dropped right after. { rows } or { error }.
 */
async function topStatements(dbName) {
  const client = new pg.Client({ connectionString: `${PG_SERVER_URL}/${dbName}` });
  try {
    await client.connect();
    const { rows: loaded } = await client.query(
      "SELECT 'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS loaded",
    );
    if (!loaded[0].loaded) return { error: 'pg_stat_statements is not in shared_preload_libraries (see bench/README.md)' };
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const { rows } = await client.query(
      `SELECT calls::int, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows::bigint AS rows,
              left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query
         FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC
        LIMIT 15`,
    );
    return { rows: rows.map((r) => ({ ...r, rows: Number(r.rows) })) };
  } catch (e) {
    return { error: `pg_stat_statements: ${e.message}` };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Drops the bench database and deletes the prefix's Redis keys; returns what it did. */
async function cleanup(dbName, redisPrefix) {
  if (!/^draconic_bench_\d+$/.test(dbName)) throw new Error(`refusing to drop ${dbName}`);
  if (!/^bench:\d+$/.test(redisPrefix)) throw new Error(`refusing to delete keys of ${redisPrefix}`);
  const out = { databaseDropped: false, redisKeysDeleted: 0, redisKeysLeft: null, errors: [] };

  const client = new pg.Client({ connectionString: `${PG_SERVER_URL}/postgres` });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    out.databaseDropped = rowCount === 0;
  } catch (e) {
    out.errors.push(`drop database ${dbName}: ${e.message}`);
  } finally {
    await client.end().catch(() => {});
  }

  const redisOut = await deleteRedisKeys(redisPrefix);
  out.redisKeysDeleted = redisOut.deleted;
  out.redisKeysLeft = redisOut.left;
  out.errors.push(...redisOut.errors);
  return out;
}

/**
 * A fresh, empty database for something the bench runs beside a service (a reference queue):
 * { dbName, url }. Drop it with dropBenchDatabase.
 */
export async function createBenchDatabase() {
  const dbName = `draconic_bench_${uniqueStamp()}`;
  const client = new pg.Client({ connectionString: `${PG_SERVER_URL}/postgres` });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${dbName}"`);
  } finally {
    await client.end().catch(() => {});
  }
  return { dbName, url: `${PG_SERVER_URL}/${dbName}` };
}

/** Drops a database made by createBenchDatabase: a list of problems, empty when it is gone. */
export async function dropBenchDatabase(dbName) {
  if (!/^draconic_bench_\d+$/.test(dbName)) throw new Error(`refusing to drop ${dbName}`);
  const client = new pg.Client({ connectionString: `${PG_SERVER_URL}/postgres` });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    return rowCount === 0 ? [] : [`database ${dbName} still there`];
  } catch (e) {
    return [`drop database ${dbName}: ${e.message}`];
  } finally {
    await client.end().catch(() => {});
  }
}

/** Deletes the keys `<prefix>:*` (and the bare prefix) with SCAN + UNLINK, never FLUSHALL: { deleted, left, errors }. */
export async function deleteRedisKeys(redisPrefix) {
  if (!/^bench:[\w-]+$/.test(redisPrefix)) throw new Error(`refusing to delete keys of ${redisPrefix}`);
  const out = { deleted: 0, left: null, errors: [] };
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    /** Every key matching `match`, a SCAN page at a time. */
    const scanPages = async function* (match) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        yield keys;
      } while (cursor !== '0');
    };
    for await (const keys of scanPages(`${redisPrefix}:*`)) if (keys.length > 0) out.deleted += await redis.unlink(...keys);
    out.deleted += await redis.unlink(redisPrefix);
    let left = 0;
    for await (const keys of scanPages(`${redisPrefix}:*`)) left += keys.length;
    out.left = left;
  } catch (e) {
    out.errors.push(`delete redis keys ${redisPrefix}:*: ${e.message}`);
  } finally {
    redis.disconnect();
  }
  return out;
}
