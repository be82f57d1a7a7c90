// Live updates (issue 5): many Socket.IO clients while jobs run; delivery latency and loss.
import { io } from 'socket.io-client';
import { eventFeed, postJson, sleep } from '../lib/events.js';
import { percentile } from '../lib/stats.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 500);
const JOBS = Number(process.env.BENCH_FANOUT_JOBS ?? 2000);
/** Jobs per second in the paced case (10 submits of RATE/10 jobs a second). */
const RATE = Number(process.env.BENCH_FANOUT_RATE ?? 50);
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
    `One \`ROLE=all\` service per case; ${CLIENTS} unfiltered socket.io-client connections (websocket) in the bench process; ${JOBS} noop jobs. ` +
    `**burst**: submitted in batches of 100 as fast as the service takes them, so deliveries queue up (a capacity and loss test: its latency is ` +
    `the length of that queue). **paced**: submitted at ${RATE} jobs/s (a batch every 100 ms), a rate this machine can fan out to every client ` +
    '(the clients alone use most of a core). Latency = received by a client - the same event received by the bench\'s Redis subscription ' +
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
  const feed = await eventFeed(service);
  const published = new Map();
  let publishedCount = 0;
  feed.on((m, at) => {
    published.set(`${m.jobId}#${m.data.sequence}`, at);
    publishedCount += 1;
  });
  const sockets = [];
  const latencies = [];
  let delivered = 0;
  let first = Infinity;
  let last = 0;
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const socket = io(`${service.url}/jobs/stream`, { transports: ['websocket'], reconnection: false });
      socket.on('job_update', (u) => {
        const at = performance.now();
        delivered += 1;
        first = Math.min(first, at);
        last = Math.max(last, at);
        const sent = published.get(`${u.job_id}#${u.data.sequence}`);
        if (sent !== undefined) latencies.push(at - sent);
      });
      sockets.push(new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      }));
    }
    const connected = await Promise.all(sockets);
    ctx.log(`${connected.length} clients connected`);
    await submit(service);
    const deadline = Date.now() + 120_000;
    let previous = -1;
    while (Date.now() < deadline) {
      await sleep(1000);
      if (delivered === previous && publishedCount >= JOBS * 3 && delivered >= publishedCount * CLIENTS) break;
      if (delivered === previous && publishedCount >= JOBS * 3) break; // nothing more is coming
      previous = delivered;
    }
    const expected = publishedCount * CLIENTS;
    for (const s of connected) s.close();
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
    feed.close();
    await ctx.stopService(service);
  }
}
