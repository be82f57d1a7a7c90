// Live updates: many Socket.IO clients while jobs run; delivery latency and loss.
import { Worker } from 'node:worker_threads';
import { postJson, sleep } from '../lib/events.js';
import { percentile } from '../lib/stats.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 500);
const JOBS = Number(process.env.BENCH_FANOUT_JOBS ?? 2000);
/** Jobs per second in the paced case (10 submits of RATE/10 jobs a second). */
const RATE = Number(process.env.BENCH_FANOUT_RATE ?? 50);
/** Worker threads the clients are spread over (each with its own event loop, as separate client machines would have). */
const THREADS = Number(process.env.BENCH_FANOUT_THREADS ?? 2);
const ENV = { MAX_CONCURRENT_JOBS: '100', MAX_CPU_UNITS: '100', MAX_MEMORY_MB: '1000000' };

/** All jobs as fast as the service takes them: batches of 100, one after the other. */
async function burst(service) {
  for (let i = 0; i < JOBS; i += 100) {
    await postJson(service, '/jobs/batch', { jobs: Array.from({ length: Math.min(100, JOBS - i) }, () => ({ type: 'noop' })) });
  }
}

/** The jobs at RATE jobs/s: a batch of RATE/10 every 100 ms, on a fixed schedule (a slow submit is not waited for). */
async function paced(service) {
  const per = Math.max(1, Math.round(RATE / 10));
  const started = performance.now();
  const submits = [];
  for (let i = 0, tick = 0; i < JOBS; i += per, tick += 1) {
    const due = started + tick * 100;
    if (due > performance.now()) await sleep(due - performance.now());
    submits.push(postJson(service, '/jobs/batch', { jobs: Array.from({ length: Math.min(per, JOBS - i) }, () => ({ type: 'noop' })) }));
  }
  await Promise.all(submits);
}

export default {
  name: 'fanout',
  description:
    `One \`ROLE=all\` service per case; ${CLIENTS} unfiltered socket.io-client connections (websocket) spread over ${THREADS} worker threads of the bench process; ${JOBS} noop jobs. ` +
    `**burst**: submitted in batches of 100 as fast as the service takes them, so deliveries queue up (a capacity and loss test: its latency is ` +
    `the length of that queue). **paced**: submitted at ${RATE} jobs/s (a batch every 100 ms), a rate this machine can fan out to every client ` +
    '(the clients alone use most of a core). Latency = received by a client - the same event received by its thread\'s Redis subscription ' +
    '(published); events/s = deliveries / (first -> last delivery). Expected deliveries = events published x clients.',

  async run(ctx) {
    return [
      await fanOut(ctx, `burst: ${CLIENTS} clients, ${JOBS} jobs`, burst),
      await fanOut(ctx, `paced: ${CLIENTS} clients, ${JOBS} jobs at ${RATE} jobs/s`, paced),
    ];
  },
};

async function fanOut(ctx, label, submit) {
  const service = await ctx.startService({ label: `fanout-run${ctx.run}`, env: ENV });
  const threads = Array.from({ length: THREADS }, (_, i) => {
    const clients = Math.floor(CLIENTS / THREADS) + (i < CLIENTS % THREADS ? 1 : 0);
    const worker = new Worker(new URL('../lib/fanout-clients.js', import.meta.url), {
      workerData: { service: { url: service.url, redisUrl: service.redisUrl, redisPrefix: service.redisPrefix }, clients },
    });
    const state = { worker, delivered: 0, publishedCount: 0, failed: null };
    worker.on('error', (error) => (state.failed = error));
    worker.on('message', (m) => {
      if (m.kind === 'progress') Object.assign(state, { delivered: m.delivered, publishedCount: m.publishedCount });
    });
    state.connected = new Promise((resolve, reject) => {
      worker.on('message', (m) => m.kind === 'connected' && resolve(m.clients));
      worker.once('error', reject);
    });
    return state;
  });
  try {
    const connected = (await Promise.all(threads.map((t) => t.connected))).reduce((a, b) => a + b, 0);
    ctx.log(`${connected} clients connected over ${THREADS} threads`);
    await submit(service);
    const deadline = Date.now() + 120_000;
    let previous = -1;
    for (;;) {
      await sleep(1000);
      const failed = threads.find((t) => t.failed);
      if (failed) throw failed.failed;
      const delivered = threads.reduce((n, t) => n + t.delivered, 0);
      const published = Math.min(...threads.map((t) => t.publishedCount));
      if ((delivered === previous && published >= JOBS * 3) || Date.now() > deadline) break; // nothing more is coming
      previous = delivered;
    }
    const results = await Promise.all(
      threads.map(
        (t) =>
          new Promise((resolve) => {
            t.worker.on('message', (m) => m.kind === 'finished' && resolve(m));
            t.worker.postMessage('finish');
          }),
      ),
    );
    const latencies = results.flatMap((r) => Array.from(r.latencies));
    const delivered = results.reduce((n, r) => n + r.delivered, 0);
    const expected = results.reduce((n, r, i) => n + r.publishedCount * Math.floor(CLIENTS / THREADS + (i < CLIENTS % THREADS ? 1 : 0)), 0);
    const first = Math.min(...results.map((r) => r.first));
    const last = Math.max(...results.map((r) => r.last));
    return {
      label,
      metrics: {
        'p50 ms': percentile(latencies, 50),
        'p99 ms': percentile(latencies, 99),
        'events/s': delivered / ((last - first) / 1000),
        delivered,
        lost: expected - delivered,
      },
      warnings: expected !== delivered ? [`${expected - delivered} of ${expected} deliveries missing`] : [],
    };
  } finally {
    await Promise.all(threads.map((t) => t.worker.terminate()));
    await ctx.stopService(service);
  }
}
