// End-to-end throughput (submit -> completed) and pickup latency (submit -> running) of noop jobs,
// one `ROLE=all` process (issue 3).
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { percentile } from '../lib/stats.js';

const JOBS = Number(process.env.BENCH_E2E_JOBS ?? 20_000);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 500);
const BODY = JSON.stringify({ type: 'noop' });
/** Capacity of the one worker: enough slots and units that noop jobs are never held back by placement. */
const WORKER_ENV = { MAX_CONCURRENT_JOBS: '200', MAX_CPU_UNITS: '200', MAX_MEMORY_MB: '1000000', DB_POOL_SIZE: '20' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function counts(client) {
  const { rows } = await client.query(
    `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed, count(*)::int AS total,
            extract(epoch FROM max(completed_at) - min(created_at)) AS span_s FROM jobs`,
  );
  return rows[0];
}

async function endToEnd(ctx, service) {
  const client = new pg.Client({ connectionString: service.databaseUrl });
  await client.connect();
  try {
    const started = performance.now();
    const r = await autocannon({
      url: `${service.url}/jobs`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
      connections: 64,
      amount: JOBS,
      timeout: 30,
    });
    const submittedS = (performance.now() - started) / 1000;
    const deadline = Date.now() + 180_000;
    let c = await counts(client);
    while (c.completed < JOBS && Date.now() < deadline) {
      await sleep(100);
      c = await counts(client);
    }
    const wallS = (performance.now() - started) / 1000;
    const warnings = [];
    if (r.non2xx || r.errors) warnings.push(`${r.non2xx} non-2xx, ${r.errors} errors while submitting`);
    if (c.completed < JOBS) warnings.push(`only ${c.completed}/${JOBS} completed before the deadline`);
    return {
      label: `e2e ${JOBS} noop, POST /jobs x64`,
      metrics: {
        'jobs/s': c.completed / Number(c.span_s),
        'submit req/s': JOBS / submittedS,
        'wall s': wallS,
        completed: c.completed,
      },
      warnings,
    };
  } finally {
    await client.end();
  }
}

async function pickup(ctx, service) {
  const redis = new Redis(service.redisUrl);
  const created = new Map();
  const latencies = [];
  await redis.subscribe(`${service.redisPrefix}:job-events`);
  redis.on('message', (_channel, raw) => {
    const now = performance.now();
    const { message } = JSON.parse(raw);
    if (message.event === 'job_created') created.set(message.jobId, now);
    if (message.event === 'job_started' && created.has(message.jobId)) latencies.push(now - created.get(message.jobId));
  });
  try {
    for (let i = 0; i < PICKUP_JOBS; i++) {
      await fetch(`${service.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      await sleep(10);
    }
    const deadline = Date.now() + 30_000;
    while (latencies.length < PICKUP_JOBS && Date.now() < deadline) await sleep(50);
    return {
      label: `pickup, ${PICKUP_JOBS} jobs 10 ms apart`,
      metrics: {
        'p50 ms': percentile(latencies, 50),
        'p99 ms': percentile(latencies, 99),
        'max ms': Math.max(...latencies),
        measured: latencies.length,
      },
      warnings: latencies.length < PICKUP_JOBS ? [`only ${latencies.length}/${PICKUP_JOBS} started`] : [],
    };
  } finally {
    redis.disconnect();
  }
}

export default {
  name: 'engine-throughput',
  description:
    `One \`ROLE=all\` service per run (fresh database; worker capacity ${JSON.stringify(WORKER_ENV)}). ` +
    `**e2e**: ${JOBS} \`noop\` jobs through \`POST /jobs\` from 64 connections (autocannon); jobs/s = jobs / (last completed_at - first created_at). ` +
    `**pickup**: on a fresh idle service, ${PICKUP_JOBS} jobs submitted one at a time 10 ms apart; latency = job_started event received - job_created event received ` +
    '(both read from the Redis event channel by the bench, so the pub/sub delivery cancels out).',

  async run(ctx) {
    const rows = [];
    let service = await ctx.startService({ label: `engine-pickup-run${ctx.run}`, env: WORKER_ENV });
    try {
      rows.push(await pickup(ctx, service));
    } finally {
      await ctx.stopService(service);
    }
    service = await ctx.startService({ label: `engine-e2e-run${ctx.run}`, env: WORKER_ENV });
    try {
      rows.push(await endToEnd(ctx, service));
    } finally {
      await ctx.stopService(service);
    }
    return rows;
  },
};
