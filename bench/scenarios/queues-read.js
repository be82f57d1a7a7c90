// Reads of the queues and metrics on a big table (docs/queues.md): GET /queues, GET /queues/{type} and GET /metrics
// on 1,000,000 jobs (seeded in one INSERT … SELECT generate_series), 10,000 of them ready in a paused queue so that
// the oldest ready job has something to find. The counts come from the counters, never a count over jobs. One
// `ROLE=all` process, one run.
import { insertFinishedJobs, withClient } from '../lib/seed.js';
import { percentile } from '../lib/stats.js';

const SEEDED = Number(process.env.BENCH_QUEUES_SEEDED ?? 1_000_000);
const READY = 10_000;
const READS = 200;
const SERVICE_ENV = { DB_POOL_SIZE: '20' };

async function seed(databaseUrl, log) {
  await withClient(databaseUrl, async (client) => {
    const t0 = Date.now();
    await insertFinishedJobs(client, SEEDED - READY, { types: ['noop', 'data_fetch', 'send_email', 'report_generation'] });
    await client.query(
      `INSERT INTO jobs (id, type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds, created_at, updated_at)
       SELECT gen_random_uuid(), 'send_email', 'ready'::job_status, 3, 2, 1000, 60000, 300, now() - i * interval '1 ms', now()
       FROM generate_series(1, $1::int) AS i`,
      [READY],
    );
    await client.query('ANALYZE jobs');
    log(`seeded ${SEEDED} jobs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
}

async function readLatency(service, label, path) {
  const latencies = [];
  for (let i = 0; i < READS; i += 1) {
    const t0 = performance.now();
    const res = await fetch(`${service.url}${path}`);
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  }
  return { label, metrics: { 'p50 ms': percentile(latencies, 50), 'p99 ms': percentile(latencies, 99), 'max ms': Math.max(...latencies), measured: latencies.length } };
}

export default {
  name: 'queues-read',
  description:
    `${READS} sequential reads each of GET /queues, GET /queues/send_email and GET /metrics on ${SEEDED.toLocaleString('en')} jobs ` +
    `(${READY.toLocaleString('en')} ready in a paused queue), one ROLE=all process.`,
  async run(ctx) {
    const service = await ctx.startService({ env: SERVICE_ENV });
    const rows = [];
    try {
      const paused = await fetch(`${service.url}/queues/send_email`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paused: true }) });
      if (paused.status !== 200) throw new Error(`PATCH /queues/send_email answered ${paused.status}`);
      await seed(service.databaseUrl, ctx.log);
      rows.push(await readLatency(service, 'GET /queues', '/queues'));
      rows.push(await readLatency(service, 'GET /queues/send_email', '/queues/send_email'));
      rows.push(await readLatency(service, 'GET /metrics', '/metrics'));
    } finally {
      await ctx.stopService(service);
    }
    return rows;
  },
};
