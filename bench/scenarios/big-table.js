// A big table (docs/rerun-and-retention.md): the same noop jobs end to end and the same pickup latency on an
// empty table, then on 1,000,000 finished jobs with 5,000,000 log rows (seeded in SQL) while retention deletes
// 200,000 of them; then list and log reads on the big table. One `ROLE=all` process, one run.
import { pickup, throughput } from '../lib/end-to-end.js';
import { sleep } from '../lib/events.js';
import { insertFinishedJobs, withClient } from '../lib/seed.js';
import { percentile } from '../lib/stats.js';

const JOBS = Number(process.env.BENCH_BIG_JOBS ?? 10_000);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 300);
const SEEDED = Number(process.env.BENCH_BIG_SEEDED ?? 1_000_000);
const EXPIRED = Math.round(SEEDED / 5);
const LOGS_PER_JOB = 5;
const READS = 200;
const SERVICE_ENV = {
  MAX_CONCURRENT_JOBS: '500',
  MAX_CPU_UNITS: '500',
  MAX_MEMORY_MB: '1000000',
  DB_POOL_SIZE: '20',
  // A day: the seeded jobs completed ten days ago are past it, the rest and the measured jobs are not.
  RETENTION_COMPLETED_SECONDS: '86400',
  RETENTION_FAILED_SECONDS: '86400',
  RETENTION_INTERVAL_MS: '1000',
};

/**
 * 1,000,000 finished jobs and 5,000,000 log rows, each in one INSERT … SELECT generate_series.
 * Jobs and their log rows commit in one transaction: retention (already running) sees no expired job before
 * its log rows exist, so it never deletes a job whose log rows are written after it.
 */
async function seed(databaseUrl, log) {
  return withClient(databaseUrl, async (client) => {
    await client.query('BEGIN');
    const t0 = Date.now();
    await insertFinishedJobs(client, SEEDED, { types: ['noop', 'data_fetch', 'send_email', 'file_process'], expired: EXPIRED });
    log(`seeded ${SEEDED} jobs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    await client.query(
      `INSERT INTO job_logs (job_id, created_at, level, message, attempt)
       SELECT j.id, j.created_at, 'info', 'job ' || j.status || ' (seeded, line ' || n || ')', 1
       FROM jobs j CROSS JOIN generate_series(1, $1::int) AS n`,
      [LOGS_PER_JOB],
    );
    log(`seeded ${SEEDED * LOGS_PER_JOB} log rows in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    await client.query('COMMIT');
    await client.query('ANALYZE jobs');
    await client.query('ANALYZE job_logs');
    const { rows } = await client.query(`SELECT id FROM jobs WHERE created_at > now() - interval '2 hours' ORDER BY id LIMIT $1`, [READS]);
    return rows.map((r) => r.id);
  });
}

function countJobs(databaseUrl) {
  return withClient(databaseUrl, async (client) => (await client.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n);
}

async function readLatency(service, label, paths) {
  const latencies = [];
  for (const path of paths) {
    const t0 = performance.now();
    const res = await fetch(`${service.url}${path}`);
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  }
  return { label, metrics: { 'p50 ms': percentile(latencies, 50), 'p99 ms': percentile(latencies, 99), 'max ms': Math.max(...latencies), measured: latencies.length } };
}

/**
 * Table health after retention: live and dead row versions, how often autovacuum ran on each table, and the
 * server's autovacuum setting (a server with autovacuum off keeps every deleted version until a manual VACUUM).
 */
function tableHealth(databaseUrl) {
  return withClient(databaseUrl, async (client) => {
    const { rows: setting } = await client.query(`SELECT current_setting('autovacuum') AS autovacuum`);
    const { rows } = await client.query(
      `SELECT relname, n_live_tup::bigint AS live, n_dead_tup::bigint AS dead, autovacuum_count::int AS autovacuums,
              pg_total_relation_size(relid)::bigint AS bytes
       FROM pg_stat_user_tables WHERE relname IN ('jobs', 'job_logs', 'job_dependencies') ORDER BY relname`,
    );
    return rows.map((r) => ({
      label: `table ${r.relname} after retention (autovacuum ${setting[0].autovacuum})`,
      metrics: {
        'live rows': Number(r.live),
        'dead rows': Number(r.dead),
        'dead %': Number(r.live) + Number(r.dead) === 0 ? 0 : (100 * Number(r.dead)) / (Number(r.live) + Number(r.dead)),
        autovacuums: r.autovacuums,
        MB: Number(r.bytes) / 1024 / 1024,
      },
    }));
  });
}

function versus(row, base, metric) {
  row.metrics['vs empty'] = row.metrics[metric] / base.metrics[metric];
  return row;
}

export default {
  name: 'big-table',
  description:
    `Noop jobs end to end (${JOBS}, batches of 1,000, 4 in flight) and pickup (${PICKUP_JOBS} jobs 10 ms apart) on an empty table, ` +
    `then on ${SEEDED.toLocaleString('en')} finished jobs and ${(SEEDED * LOGS_PER_JOB).toLocaleString('en')} log rows while retention deletes ` +
    `${EXPIRED.toLocaleString('en')} of them ("vs empty" = big / empty); then ${READS} sequential reads of each list and of job logs on the big table.`,
  async run(ctx) {
    const service = await ctx.startService({ env: SERVICE_ENV });
    const rows = [];
    try {
      const empty = await throughput(service, `${JOBS} noop, empty table`, { jobs: JOBS });
      rows.push(empty);
      const emptyPickup = await pickup(service, 'pickup, empty table', { jobs: PICKUP_JOBS });
      rows.push(emptyPickup);

      const ids = await seed(service.databaseUrl, ctx.log);
      const before = await countJobs(service.databaseUrl);
      const t0 = Date.now();
      rows.push(versus(await throughput(service, `${JOBS} noop, big table, retention deleting`, { jobs: JOBS, crossCheck: false }), empty, 'jobs/s'));
      rows.push(versus(await pickup(service, 'pickup, big table, retention deleting', { jobs: PICKUP_JOBS }), emptyPickup, 'p99 ms'));
      const deletedMeanwhile = before - (await countJobs(service.databaseUrl)) + JOBS + PICKUP_JOBS;
      ctx.log(`retention deleted ${deletedMeanwhile} jobs during the ${((Date.now() - t0) / 1000).toFixed(1)} s measured`);
      rows.push({ label: 'retention while measured', metrics: { 'jobs deleted': deletedMeanwhile, 's': (Date.now() - t0) / 1000 } });

      for (const status of ['completed', 'failed', 'cancelled', 'ready', 'running']) {
        rows.push(await readLatency(service, `GET /jobs?status=${status}&limit=50`, Array.from({ length: READS }, () => `/jobs?status=${status}&limit=50`)));
      }
      rows.push(await readLatency(service, 'GET /jobs?type=noop&limit=50', Array.from({ length: READS }, () => '/jobs?type=noop&limit=50')));
      rows.push(await readLatency(service, 'GET /jobs/{id}/logs', ids.map((id) => `/jobs/${id}/logs`)));

      // Let retention finish, so the report says how long 200,000 deletions take beside live traffic.
      // Left in the end: the unexpired seeded jobs and the jobs of both rounds (empty table, big table).
      const kept = SEEDED - EXPIRED + 2 * (JOBS + PICKUP_JOBS);
      const deadline = Date.now() + 600_000;
      while (Date.now() < deadline && (await countJobs(service.databaseUrl)) > kept) await sleep(1000);
      rows.push({ label: 'retention, all expired jobs', metrics: { 'jobs left': await countJobs(service.databaseUrl), 's since seeded': (Date.now() - t0) / 1000 } });
      // Give autovacuum (where the server runs it) a moment to visit the tables retention just thinned.
      await sleep(Number(process.env.BENCH_BIG_SETTLE_MS ?? 30_000));
      rows.push(...(await tableHealth(service.databaseUrl)));
    } finally {
      await ctx.stopService(service);
    }
    return rows;
  },
};
