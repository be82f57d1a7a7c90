// The reference draconic is measured against: BullMQ on the same machine, in the same run. Run as a
// child process of the bench (`fork`), so it is a fresh process like the draconic service it is compared with.
// One process holds the producer (64 concurrent `queue.add` loops, as autocannon's 64 connections) and one
// Worker whose handler does nothing. It waits for commands from the parent over IPC, so the parent can take
// CPU snapshots around each round:
//   { cmd: 'round', jobs }      -> { round: { wallS, completed } }   time from the first add to the last `completed`
//   { cmd: 'pickup', jobs, gapMs } -> { pickup: [ms, ...] }          add() called -> handler entered, one job at a time
//   { cmd: 'stop' }             -> obliterates its queues, closes, exits
// Environment: REDIS_URL, REDIS_PREFIX (keys are `<prefix>:...`), BULLMQ_CONCURRENCY.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const prefix = process.env.REDIS_PREFIX;
const concurrency = Number(process.env.BULLMQ_CONCURRENCY ?? 64);
// BullMQ wants `maxRetriesPerRequest: null` on the connections its workers block on.
const connection = () => new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const queue = new Queue('noop', { connection: connection(), prefix });
let onCompleted = () => {};
let onStarted = () => {};
const worker = new Worker(
  'noop',
  async (job) => {
    onStarted(job);
    return null;
  },
  { connection: connection(), prefix, concurrency },
);
worker.on('completed', () => onCompleted());
worker.on('error', (e) => process.send({ error: `worker: ${e.message}` }));
await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

/** `jobs` jobs added from 64 concurrent loops; resolves when the worker has completed all of them (or 5 minutes pass). */
async function round(jobs) {
  let completed = 0;
  let lastAt = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  onCompleted = () => {
    completed += 1;
    if (completed === jobs) {
      lastAt = performance.now();
      resolve();
    }
  };
  const deadline = setTimeout(resolve, 300_000);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < jobs) {
        next += 1;
        await queue.add('noop', {});
      }
    }),
  );
  await done;
  clearTimeout(deadline);
  onCompleted = () => {};
  return { completed, wallS: ((lastAt || performance.now()) - started) / 1000 };
}

/** One job at a time, `gapMs` apart: ms from calling add() to the handler being entered. */
async function pickup(jobs, gapMs) {
  const addedAt = new Map();
  const latencies = [];
  onStarted = (job) => {
    const at = addedAt.get(job.id);
    if (at !== undefined) latencies.push(performance.now() - at);
  };
  for (let i = 0; i < jobs; i++) {
    const id = `pickup-${i}`;
    addedAt.set(id, performance.now());
    await queue.add('noop', {}, { jobId: id });
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
    else if (msg.cmd === 'pickup') process.send({ pickup: await pickup(msg.jobs, msg.gapMs) });
    else if (msg.cmd === 'stop') {
      await worker.close(true);
      await queue.obliterate({ force: true });
      await queue.close();
      process.exit(0);
    }
  } catch (e) {
    process.send({ error: e.stack ?? e.message });
  }
});
process.send({ ready: true });
