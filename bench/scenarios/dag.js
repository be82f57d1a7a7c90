// Dependency graphs: hop latency along a chain, a 1,000-way fan-in, and the submit of a
// 10,000-job random DAG.
import { eventFeed, postJson, sleep } from '../lib/events.js';
import { startBullmq } from '../lib/references.js';
import { percentile } from '../lib/stats.js';

const ENV = { MAX_CONCURRENT_JOBS: '200', MAX_CPU_UNITS: '200', MAX_MEMORY_MB: '1000000', MAX_BODY_BYTES: '33554432', DB_POOL_SIZE: '20' };

/** Resolves when `done(message)` is true for an event, or rejects after `ms`. */
function waitFor(feed, done, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
    const off = feed.on((message, at) => {
      if (!done(message, at)) return;
      clearTimeout(timer);
      off();
      resolve(at);
    });
  });
}

async function chain(service, feed, length) {
  const completedAt = new Map();
  const startedAt = new Map();
  const off = feed.on((m, at) => {
    if (m.event === 'job_completed') completedAt.set(m.jobId, at);
    if (m.event === 'job_started') startedAt.set(m.jobId, at);
  });
  const jobs = Array.from({ length }, (_, i) => ({ ref: `c${i}`, type: 'noop', depends_on: i ? [`c${i - 1}`] : [] }));
  const { items } = await postJson(service, '/jobs/batch', { jobs });
  const last = items[items.length - 1].id;
  await waitFor(feed, (m) => m.event === 'job_completed' && m.jobId === last, 120_000).catch(() => undefined);
  off();
  const hops = [];
  const links = [];
  for (let i = 1; i < items.length; i++) {
    const done = completedAt.get(items[i - 1].id);
    const started = startedAt.get(items[i].id);
    const before = startedAt.get(items[i - 1].id);
    if (done !== undefined && started !== undefined) hops.push(started - done);
    if (before !== undefined && started !== undefined) links.push(started - before);
  }
  const first = startedAt.get(items[0].id);
  const lastDone = completedAt.get(last);
  return {
    label: `chain of ${length}: hop (dependency completed -> dependent running)`,
    metrics: {
      'p50 ms': percentile(hops, 50),
      'p99 ms': percentile(hops, 99),
      hops: hops.length,
      // The link does not depend on when the dependency's job_completed is published: it spans its run,
      // its completion and the hop (dependency running -> dependent running).
      'link p50 ms': percentile(links, 50),
      'link p99 ms': percentile(links, 99),
      'chain s': first !== undefined && lastDone !== undefined ? (lastDone - first) / 1000 : NaN,
    },
    warnings: hops.length < length - 1 ? [`only ${hops.length}/${length - 1} hops measured`] : [],
  };
}

async function fanIn(service, feed, children) {
  let lastChildDone = 0;
  const childIds = new Set();
  const off = feed.on((m, at) => {
    if (m.event === 'job_completed' && childIds.has(m.jobId)) lastChildDone = Math.max(lastChildDone, at);
  });
  const jobs = [
    ...Array.from({ length: children }, (_, i) => ({ ref: `k${i}`, type: 'noop' })),
    { ref: 'parent', type: 'noop', depends_on: Array.from({ length: children }, (_, i) => `k${i}`) },
  ];
  const t0 = performance.now();
  const response = postJson(service, '/jobs/batch', { jobs });
  let parentId;
  const parentRunning = waitFor(feed, (m) => m.event === 'job_started' && m.jobId === parentId, 120_000);
  const { items } = await response;
  for (const item of items.slice(0, children)) childIds.add(item.id);
  parentId = items[children].id;
  const parentStarted = await parentRunning;
  const parentDone = await waitFor(feed, (m) => m.event === 'job_completed' && m.jobId === parentId, 60_000).catch(() => performance.now());
  off();
  return {
    label: `fan-in: ${children} children -> 1 parent`,
    metrics: { 'whole run s': (parentDone - t0) / 1000, 'parent running after last child ms': parentStarted - lastChildDone },
    warnings: [],
  };
}

function randomDag(n, maxDeps, seed) {
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: n }, (_, i) => {
    const deps = new Set();
    const count = i === 0 ? 0 : Math.floor(random() * (maxDeps + 1));
    for (let k = 0; k < count; k++) deps.add(`n${Math.floor(random() * i)}`);
    return { ref: `n${i}`, type: 'noop', depends_on: [...deps] };
  });
}

async function bigSubmit(service, n) {
  const jobs = randomDag(n, 3, 42);
  const t0 = performance.now();
  const { items } = await postJson(service, '/jobs/batch', { jobs });
  const seconds = (performance.now() - t0) / 1000;
  return { label: `submit a ${n}-job random DAG in one batch`, metrics: { 'submit s': seconds, jobs: items.length }, warnings: [] };
}

/**
 * The BullMQ reference (bench/lib/bullmq-reference.js, a fresh process, Worker of concurrency 64) running the same
 * graphs as FlowProducer flows: the chain as nested flows, the fan-in as one parent with `children` children.
 */
async function bullmqFlows(chainLength, children) {
  const bullmq = await startBullmq();
  const rows = [];
  try {
    const { chain: c } = await bullmq.request({ cmd: 'chain', length: chainLength });
    rows.push({
      label: `BullMQ reference: FlowProducer chain of ${chainLength}: hop (child completed -> parent running)`,
      metrics: { 'p50 ms': percentile(c.hops, 50), 'p99 ms': percentile(c.hops, 99), hops: c.hops.length },
      warnings: c.hops.length < chainLength - 1 ? [`only ${c.hops.length}/${chainLength - 1} hops measured`] : [],
    });
    const { fanin: f } = await bullmq.request({ cmd: 'fanin', children });
    rows.push({
      label: `BullMQ reference: FlowProducer fan-in: ${children} children -> 1 parent`,
      metrics: { 'whole run s': f.wholeS, 'parent running after last child ms': f.parentAfterLastChildMs, 'submit s': f.submitS },
      warnings: [],
    });
  } finally {
    const warnings = await bullmq.stop();
    rows.at(-1)?.warnings.push(...warnings);
  }
  return rows;
}

export default {
  name: 'dag',
  description:
    'One `ROLE=all` service per run (fresh database, worker capacity 200 slots / 200 cpu units). Latencies from the bench\'s own ' +
    'subscription to the Redis event channel (both stamps on the same path). **chain**: 200 noop jobs, each depending on the previous, one batch; ' +
    'hop = job_completed of n -> job_started of n+1; link = job_started of n -> job_started of n+1 (its run, completion and hop); ' +
    'chain s = job_started of the first -> job_completed of the last. **fan-in**: 1,000 noop children and a parent depending on all, one batch; whole run = ' +
    'submit -> parent completed. **big submit**: POST /jobs/batch of a 10,000-job random DAG (up to 3 dependencies per job), cycle check included. ' +
    '**BullMQ reference**: the same chain and fan-in as BullMQ FlowProducer flows, after the service has stopped (bench/lib/bullmq-reference.js: ' +
    'a fresh process holding the FlowProducer and a Worker of concurrency 64; the chain as nested flows, job n the only child of job n+1); ' +
    'its stamps are taken in that process (worker `completed` event, handler entered), so they carry no pub/sub delivery. ' +
    '**vs BullMQ**: draconic\'s figure over BullMQ\'s (times: above 1 is slower): p99 hop on the chain row, whole run on the fan-in row.',

  async run(ctx) {
    const chainLength = Number(process.env.BENCH_CHAIN ?? 200);
    const children = Number(process.env.BENCH_FANIN ?? 1000);
    const draconic = [];
    const service = await ctx.startService({ label: `dag-run${ctx.run}`, env: ENV });
    const feed = await eventFeed(service);
    try {
      draconic.push(await chain(service, feed, chainLength));
      await sleep(500);
      draconic.push(await fanIn(service, feed, children));
      await sleep(500);
      draconic.push(await bigSubmit(service, Number(process.env.BENCH_DAG_JOBS ?? 10_000)));
    } finally {
      feed.close();
      await ctx.stopService(service);
    }
    const [bullmqChain, bullmqFanIn] = await bullmqFlows(chainLength, children);
    const [chainRow, fanInRow, bigRow] = draconic;
    chainRow.metrics['vs BullMQ'] = chainRow.metrics['p99 ms'] / bullmqChain.metrics['p99 ms'];
    fanInRow.metrics['vs BullMQ'] = fanInRow.metrics['whole run s'] / bullmqFanIn.metrics['whole run s'];
    return [chainRow, bullmqChain, fanInRow, bullmqFanIn, bigRow];
  },
};
