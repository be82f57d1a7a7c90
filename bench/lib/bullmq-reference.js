// The reference draconic is measured against: BullMQ on the same machine, in the same run. Run as a
// child process of the bench (`fork`), so it is a fresh process like the draconic service it is compared with.
// One process holds the producer (64 concurrent `queue.add` loops, as autocannon's 64 connections) and one
// Worker whose handler does nothing. It waits for commands from the parent over IPC, so the parent can take
// CPU snapshots around each round:
//   { cmd: 'round', jobs }      -> { round: { wallS, completed } }   time from the first add to the last `completed`
//   { cmd: 'batch', jobs }      -> { round: { wallS, completed } }   the same, added by `queue.addBulk` of 1,000, 4 calls in flight
//   { cmd: 'pickup', jobs, gapMs } -> { pickup: [ms, ...] }          add() called -> handler entered, one job at a time
//   { cmd: 'fanin', children }  -> { fanin: { submitS, wholeS, parentAfterLastChildMs } }  FlowProducer: a parent of `children` children
//   { cmd: 'chain', length }    -> { chain: { hops: [ms, ...] } }     FlowProducer: `length` nested flows; hop = child completed -> parent entered
//   { cmd: 'stop' }             -> obliterates its queues, closes, exits
// Environment: REDIS_URL, REDIS_PREFIX (keys are `<prefix>:...`), BULLMQ_CONCURRENCY.
import { FlowProducer, Queue, Worker } from 'bullmq';
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
worker.on('completed', (job) => onCompleted(job));
worker.on('error', (e) => process.send({ error: `worker: ${e.message}` }));
await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

/**
 * `jobs` jobs added from 64 concurrent loops (or, `bulk`, by addBulk calls of 1,000, 4 in flight); resolves
 * when the worker has completed all of them (or 5 minutes pass).
 */
async function round(jobs, bulk = false) {
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
  if (bulk) {
    const sizes = Array.from({ length: Math.ceil(jobs / 1000) }, (_, i) => Math.min(1000, jobs - i * 1000));
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < sizes.length) await queue.addBulk(Array.from({ length: sizes[next++] }, () => ({ name: 'noop', data: {} })));
      }),
    );
  } else {
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < jobs) {
          next += 1;
          await queue.add('noop', {});
        }
      }),
    );
  }
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

/**
 * One FlowProducer flow: a parent with `children` children on the same queue. Stamps in this process: the
 * worker's `completed` event of the last child, the parent's handler being entered, the parent's `completed`.
 */
async function fanin(children) {
  const flow = new FlowProducer({ connection: connection(), prefix });
  let lastChildDone = 0;
  let parentStarted = 0;
  let parentDone = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  onCompleted = (job) => {
    if (job.name === 'fanin-child') lastChildDone = performance.now();
    if (job.name === 'fanin-parent') {
      parentDone = performance.now();
      resolve();
    }
  };
  onStarted = (job) => {
    if (job.name === 'fanin-parent') parentStarted = performance.now();
  };
  const deadline = setTimeout(resolve, 120_000);
  const started = performance.now();
  await flow.add({
    name: 'fanin-parent',
    queueName: 'noop',
    data: {},
    children: Array.from({ length: children }, () => ({ name: 'fanin-child', queueName: 'noop', data: {} })),
  });
  const submitS = (performance.now() - started) / 1000;
  await done;
  clearTimeout(deadline);
  onCompleted = () => {};
  onStarted = () => {};
  await flow.close();
  if (!parentDone) throw new Error('fan-in: the parent did not complete within 120 s');
  return { submitS, wholeS: (parentDone - started) / 1000, parentAfterLastChildMs: parentStarted - lastChildDone };
}

/** A chain of `length` jobs as nested flows (job i is the only child of job i+1): hop = i completed -> i+1 entered. */
async function chain(length) {
  const flow = new FlowProducer({ connection: connection(), prefix });
  const completedAt = new Array(length);
  const startedAt = new Array(length);
  let resolve;
  const done = new Promise((r) => (resolve = r));
  onCompleted = (job) => {
    if (job.name !== 'chain') return;
    completedAt[job.data.i] = performance.now();
    if (job.data.i === length - 1) resolve();
  };
  onStarted = (job) => {
    if (job.name === 'chain') startedAt[job.data.i] = performance.now();
  };
  const deadline = setTimeout(resolve, 120_000);
  let node = { name: 'chain', queueName: 'noop', data: { i: 0 } };
  for (let i = 1; i < length; i++) node = { name: 'chain', queueName: 'noop', data: { i }, children: [node] };
  await flow.add(node);
  await done;
  clearTimeout(deadline);
  onCompleted = () => {};
  onStarted = () => {};
  await flow.close();
  const hops = [];
  for (let i = 1; i < length; i++) if (completedAt[i - 1] !== undefined && startedAt[i] !== undefined) hops.push(startedAt[i] - completedAt[i - 1]);
  return { hops };
}

process.on('message', async (msg) => {
  try {
    if (msg.cmd === 'round') process.send({ round: await round(msg.jobs) });
    else if (msg.cmd === 'batch') process.send({ round: await round(msg.jobs, true) });
    else if (msg.cmd === 'fanin') process.send({ fanin: await fanin(msg.children) });
    else if (msg.cmd === 'chain') process.send({ chain: await chain(msg.length) });
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
