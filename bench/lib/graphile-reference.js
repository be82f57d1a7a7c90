// The PostgreSQL-backed reference draconic is measured against: graphile-worker on the same machine, in the
// same run, on a fresh database of its own (graphile-worker installs its schema, `graphile_worker`, itself
// when its runner starts). Run as a child process of the bench (`fork`), like bench/lib/bullmq-reference.js,
// and driven by the same IPC commands:
//   { cmd: 'round', jobs }          -> { round: { wallS, completed } }  64 concurrent addJob loops
//   { cmd: 'batch', jobs }          -> { round: { wallS, completed } }  addJobs of 1,000 jobs, 4 calls in flight
//   { cmd: 'pickup', jobs, gapMs }  -> { pickup: [ms, ...] }            addJob() called -> task entered, one job at a time
//   { cmd: 'stop' }                 -> stops the runner, closes its pools, exits (the parent drops the database)
// wallS is from the first add to the last job's row being deleted (after its `job:success` event).
// The runner uses graphile-worker's documented performance configuration (its "Performance" page:
// concurrentJobs 24, maxPoolSize 25, localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0);
// the adders use a pool of their own of GRAPHILE_ADD_POOL connections (default 20, draconic's DB_POOL_SIZE in
// the bench). Environment: DATABASE_URL, GRAPHILE_CONCURRENCY, GRAPHILE_POOL, GRAPHILE_LOCAL_QUEUE, GRAPHILE_ADD_POOL.
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';

const connectionString = process.env.DATABASE_URL;
const concurrentJobs = Number(process.env.GRAPHILE_CONCURRENCY ?? 24);
const maxPoolSize = Number(process.env.GRAPHILE_POOL ?? 25);
const localQueueSize = Number(process.env.GRAPHILE_LOCAL_QUEUE ?? 500);
const addPoolSize = Number(process.env.GRAPHILE_ADD_POOL ?? 20);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Warnings and errors go to the parent's stderr; graphile-worker's info lines (one a job at debug) do not.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker] ${level}: ${message}\n`);
});

let onStarted = () => {};
let onSucceeded = () => {};
const events = new EventEmitter();
events.on('job:success', () => onSucceeded());

const runner = await run({
  noHandleSignals: true,
  logger,
  events,
  taskList: {
    noop: async (payload) => {
      onStarted(payload);
    },
  },
  preset: {
    worker: {
      connectionString,
      concurrentJobs,
      maxPoolSize,
      pollInterval: 2000,
      localQueue: { size: localQueueSize },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  },
});
runner.promise.catch((e) => process.send({ error: `runner: ${e.stack ?? e.message}` }));

const addPool = new pg.Pool({ connectionString, max: addPoolSize });
// graphile-worker checks that a pool it is handed has error handlers on the pool and on each client.
const poolError = (e) => process.stderr.write(`[graphile-worker] add pool: ${e.message}\n`);
addPool.on('error', poolError);
addPool.on('connect', (client) => client.on('error', poolError));
const utils = await makeWorkerUtils({ pgPool: addPool, logger });

/** Resolves { completed, wallS } when `jobs` jobs have succeeded since `started` (or 5 minutes pass). */
function completion(jobs, started) {
  let completed = 0;
  let lastAt = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  onSucceeded = () => {
    completed += 1;
    if (completed === jobs) {
      lastAt = performance.now();
      resolve();
    }
  };
  const deadline = setTimeout(resolve, 300_000);
  return async () => {
    await done;
    clearTimeout(deadline);
    onSucceeded = () => {};
    if (!lastAt) return { completed, wallS: (performance.now() - started) / 1000 };
    // graphile-worker emits job:success before its (batched) completeJob deletes the row: the round ends
    // when the last row is gone, as BullMQ's `completed` and draconic's job_completed come after the store has it.
    const deleted = await allRowsGone();
    return { completed, wallS: (Math.max(lastAt, deleted) - started) / 1000 };
  };
}

/** When graphile-worker's jobs table was seen empty (polled every 2 ms, for at most 30 s). */
async function allRowsGone() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { rows } = await addPool.query('SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS left');
    if (!rows[0].left) return performance.now();
    await sleep(2);
  }
  throw new Error('jobs still in graphile_worker._private_jobs 30 s after the last job:success');
}

/** `jobs` jobs added from 64 concurrent addJob loops. */
async function round(jobs) {
  const started = performance.now();
  const wait = completion(jobs, started);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < jobs) {
        next += 1;
        await utils.addJob('noop', {});
      }
    }),
  );
  return wait();
}

/** `jobs` jobs added by addJobs calls of 1,000, 4 in flight (as the bench's POST /jobs/batch). */
async function batch(jobs) {
  const started = performance.now();
  const wait = completion(jobs, started);
  const sizes = Array.from({ length: Math.ceil(jobs / 1000) }, (_, i) => Math.min(1000, jobs - i * 1000));
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < sizes.length) {
        const n = sizes[next++];
        await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
      }
    }),
  );
  return wait();
}

/** One job at a time, `gapMs` apart: ms from calling addJob() to the task being entered. */
async function pickup(jobs, gapMs) {
  const addedAt = new Map();
  const latencies = [];
  onStarted = (payload) => {
    const at = addedAt.get(payload?.pickup);
    if (at !== undefined) latencies.push(performance.now() - at);
  };
  for (let i = 0; i < jobs; i++) {
    addedAt.set(i, performance.now());
    await utils.addJob('noop', { pickup: i });
    await sleep(gapMs);
  }
  const deadline = Date.now() + 30_000;
  while (latencies.length < jobs && Date.now() < deadline) await sleep(20);
  onStarted = () => {};
  return latencies;
}

process.on('message', async (msg) => {
  try {
    if (msg.cmd === 'round') process.send({ round: await round(msg.jobs) });
    else if (msg.cmd === 'batch') process.send({ round: await batch(msg.jobs) });
    else if (msg.cmd === 'pickup') process.send({ pickup: await pickup(msg.jobs, msg.gapMs) });
    else if (msg.cmd === 'stop') {
      await runner.stop();
      await utils.release();
      await addPool.end();
      process.exit(0);
    }
  } catch (e) {
    process.send({ error: e.stack ?? e.message });
  }
});
process.send({ ready: true });
