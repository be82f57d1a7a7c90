// Start and stop the reference queues the bench measures draconic beside, each in a fresh child process
// with a store of its own: BullMQ (bench/lib/bullmq-reference.js, a Redis prefix) and graphile-worker
// (bench/lib/graphile-reference.js, a PostgreSQL database). Both answer the IPC commands their modules describe.
import { fork } from 'node:child_process';
import { benchRedisPrefix, createBenchDatabase, deleteRedisKeys, dropBenchDatabase, REDIS_URL } from './service.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A reference queue (a module of bench/lib/) in a fresh child process: `request(msg)` sends a command and resolves
 * with its answer; `stop()` ends it, runs `cleanup()` and resolves with its warnings.
 */
export async function startReference(name, module, env, cleanup) {
  const child = fork(new URL(module, import.meta.url), { execArgv: [], env: { ...process.env, ...env } });
  let pending = null;
  let failure = null;
  const fail = (error) => {
    failure ??= error;
    pending?.reject(error);
    pending = null;
  };
  child.on('message', (msg) => {
    if (msg.error) return fail(new Error(`${name} reference: ${msg.error}`));
    pending?.resolve(msg);
    pending = null;
  });
  child.on('exit', (code, signal) => fail(new Error(`${name} reference exited (${code ?? signal})`)));
  const request = (msg) =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      pending = { resolve, reject };
      if (msg) child.send(msg);
    });
  const stop = async () => {
    if (!failure) {
      child.send({ cmd: 'stop' });
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
    }
    child.kill('SIGKILL');
    return cleanup();
  };
  try {
    await request(null); // { ready }
  } catch (e) {
    await stop();
    throw e;
  }
  return { name, pid: child.pid, request, stop };
}

/** BullMQ (bench/lib/bullmq-reference.js) on a Redis prefix of its own, deleted afterwards. */
export function startBullmq() {
  const redisPrefix = benchRedisPrefix();
  return startReference('BullMQ', 'bullmq-reference.js', { REDIS_URL, REDIS_PREFIX: redisPrefix, BULLMQ_CONCURRENCY: '64' }, async () => {
    const { left, errors } = await deleteRedisKeys(redisPrefix);
    return left === 0 && errors.length === 0 ? [] : [`BullMQ reference: ${left} keys of ${redisPrefix} left ${errors.join('; ')}`];
  });
}

/** graphile-worker (bench/lib/graphile-reference.js) on a fresh database of its own, dropped afterwards. */
export async function startGraphile() {
  const db = await createBenchDatabase();
  return startReference('graphile-worker', 'graphile-reference.js', { DATABASE_URL: db.url }, async () =>
    (await dropBenchDatabase(db.dbName)).map((w) => `graphile-worker reference: ${w}`),
  );
}
