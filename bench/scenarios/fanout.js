// Live updates (issue 5): many Socket.IO clients while jobs run; delivery latency and loss.
import { io } from 'socket.io-client';
import { eventFeed, postJson, sleep } from '../lib/events.js';
import { percentile } from '../lib/stats.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 500);
const JOBS = Number(process.env.BENCH_FANOUT_JOBS ?? 2000);
const ENV = { MAX_CONCURRENT_JOBS: '100', MAX_CPU_UNITS: '100', MAX_MEMORY_MB: '1000000' };

export default {
  name: 'fanout',
  description:
    `One \`ROLE=all\` service; ${CLIENTS} unfiltered socket.io-client connections (websocket) in the bench process; ${JOBS} noop jobs ` +
    'submitted in batches of 100. Latency = received by a client - the same event received by the bench\'s Redis subscription ' +
    '(published); events/s = deliveries / (first -> last delivery). Expected deliveries = events published x clients.',

  async run(ctx) {
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
      for (let i = 0; i < JOBS; i += 100) {
        await postJson(service, '/jobs/batch', { jobs: Array.from({ length: Math.min(100, JOBS - i) }, () => ({ type: 'noop' })) });
      }
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
      return [
        {
          label: `${CLIENTS} clients, ${JOBS} jobs`,
          metrics: {
            'p50 ms': percentile(latencies, 50),
            'p99 ms': percentile(latencies, 99),
            'events/s': delivered / ((last - first) / 1000),
            delivered,
            lost: expected - delivered,
          },
          warnings: expected !== delivered ? [`${expected - delivered} of ${expected} deliveries missing`] : [],
        },
      ];
    } finally {
      feed.close();
      await ctx.stopService(service);
    }
  },
};
