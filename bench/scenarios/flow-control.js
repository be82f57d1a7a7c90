// What the queue rules cost (docs/queues.md): the same noop jobs end to end (batch submit -> completed) and
// the same pickup latency, plain and with 100 distinct concurrency keys under a key_concurrency_limit,
// in one `ROLE=all` process, in the same run.
import { eventFeed, jobCounts, postJson, sleep } from '../lib/events.js';
import { percentile } from '../lib/stats.js';

const JOBS = Number(process.env.BENCH_FLOW_JOBS ?? 10_000);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 300);
const KEYS = 100;
/** 100 keys x 5 = the worker's 500 slots: the key limit is checked on every placement without starving the worker. */
const KEY_LIMIT = 5;
const WORKER_ENV = { MAX_CONCURRENT_JOBS: '500', MAX_CPU_UNITS: '500', MAX_MEMORY_MB: '1000000', DB_POOL_SIZE: '20' };

async function patchJson(service, path, body) {
  const res = await fetch(`${service.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`PATCH ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

async function throughput(service, label, keyed) {
  const before = (await jobCounts(service)).completed ?? 0;
  const feed = await eventFeed(service);
  let completed = 0;
  let doneAt = null;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const off = feed.on((event, at) => {
    if (event.event === 'job_completed' && ++completed === JOBS) {
      doneAt = at;
      resolve();
    }
  });
  const timeout = setTimeout(resolve, 300_000);
  const started = performance.now();
  const batches = Array.from({ length: Math.ceil(JOBS / 1000) }, (_, i) => Math.min(1000, JOBS - i * 1000));
  let next = 0;
  let n = 0;
  const body = (size) => ({ jobs: Array.from({ length: size }, () => (keyed ? { type: 'noop', concurrency_key: `k${n++ % KEYS}` } : { type: 'noop' })) });
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) await postJson(service, '/jobs/batch', body(batches[next++]));
    }),
  );
  await done;
  clearTimeout(timeout);
  off();
  feed.close();
  const wallS = ((doneAt ?? performance.now()) - started) / 1000;
  const counted = ((await jobCounts(service)).completed ?? 0) - before;
  return {
    label,
    metrics: { 'jobs/s': completed / wallS, 'wall s': wallS, completed: counted },
    warnings: completed < JOBS ? [`only ${completed}/${JOBS} completed before the deadline`] : [],
  };
}

async function pickup(service, label, keyed) {
  const feed = await eventFeed(service);
  const created = new Map();
  const latencies = [];
  feed.on((message, at) => {
    if (message.event === 'job_created') created.set(message.jobId, at);
    if (message.event === 'job_started' && created.has(message.jobId)) latencies.push(at - created.get(message.jobId));
  });
  try {
    for (let i = 0; i < PICKUP_JOBS; i++) {
      await postJson(service, '/jobs', keyed ? { type: 'noop', concurrency_key: `k${i % KEYS}` } : { type: 'noop' });
      await sleep(10);
    }
    const deadline = Date.now() + 30_000;
    while (latencies.length < PICKUP_JOBS && Date.now() < deadline) await sleep(50);
    return {
      label,
      metrics: { 'p50 ms': percentile(latencies, 50), 'p99 ms': percentile(latencies, 99), 'max ms': Math.max(...latencies), measured: latencies.length },
      warnings: latencies.length < PICKUP_JOBS ? [`only ${latencies.length}/${PICKUP_JOBS} started`] : [],
    };
  } finally {
    feed.close();
  }
}

/** The keyed row's figure over the plain row's, measured beside it. */
function versus(row, plain, metric) {
  row.metrics['vs plain'] = row.metrics[metric] / plain.metrics[metric];
  return row;
}

export default {
  name: 'flow-control',
  description:
    `Noop jobs end to end (batches of 1,000, 4 in flight) and pickup latency (${PICKUP_JOBS} jobs 10 ms apart), plain and with ` +
    `${KEYS} concurrency keys under key_concurrency_limit ${KEY_LIMIT}, one ROLE=all process; "vs plain" is keyed / plain.`,
  async run(ctx) {
    const service = await ctx.startService({ env: WORKER_ENV });
    const rows = [];
    try {
      const plain = await throughput(service, `${JOBS} noop, plain`, false);
      rows.push(plain);
      const plainPickup = await pickup(service, 'pickup, plain', false);
      rows.push(plainPickup);
      await patchJson(service, '/queues/noop', { key_concurrency_limit: KEY_LIMIT });
      rows.push(versus(await throughput(service, `${JOBS} noop, ${KEYS} keys, key limit ${KEY_LIMIT}`, true), plain, 'jobs/s'));
      rows.push(versus(await pickup(service, `pickup, ${KEYS} keys, key limit ${KEY_LIMIT}`, true), plainPickup, 'p99 ms'));
    } finally {
      await ctx.stopService(service);
    }
    return rows;
  },
};
