// Soak: one ROLE=api process and two ROLE=worker processes on one database, noop jobs at half the
// capacity measured on them first, for 30 minutes (`--minutes M`). One line a minute: each process's
// RSS, the database's PostgreSQL connections, pickup p50/p99 (job_created -> job_started), jobs/s and
// the backlog. Flat is the verdict: a figure that keeps growing is a leak (memory, connections, queue).
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { throughput } from '../lib/end-to-end.js';
import { eventFeed, jobCounts, postJson, sleep } from '../lib/events.js';
import { median, percentile } from '../lib/stats.js';

const DEFAULT_MINUTES = 30;
const CAPACITY_JOBS = Number(process.env.BENCH_SOAK_CAPACITY_JOBS ?? 10_000);
/** Submits happen every TICK_MS, a batch of rate x tick jobs (fractions carried over). */
const TICK_MS = 100;
const WORKER_ENV = { MAX_CONCURRENT_JOBS: '100', MAX_CPU_UNITS: '100', MAX_MEMORY_MB: '1000000', RUN_MIGRATIONS: 'false' };
/** How much RSS may grow from the soak's earlier half to its later one before it counts as not flat. */
const RSS_GROWTH_LIMIT = 0.2;

/** Resident set size of a process, MB (Linux /proc). */
function rssMb(pid) {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const MIN_MINUTES_TO_JUDGE = 10;

/**
 * Flat or not: minutes 2 to the last (the first includes warm-up), split in two halves; the median of
 * the later half against that of the earlier one. RSS is a sawtooth (it drops by a third at a major GC,
 * every few minutes under this load), so it takes halves of 5 minutes and more for their medians to say
 * more than where the GCs fell: a 7-minute run's halves of 3 minutes differed by 38 % without a leak.
 * RSS may grow RSS_GROWTH_LIMIT, connections 3. Returns the warnings.
 */
export function notFlat(rows, keys) {
  const judged = rows.slice(1);
  const half = Math.floor(judged.length / 2);
  const middle = (list, key) => median(list.map((r) => r.metrics[key]));
  const warnings = [];
  for (const key of keys) {
    const [early, late] = [middle(judged.slice(0, half), key), middle(judged.slice(half), key)];
    const rss = key.startsWith('RSS');
    if (late > (rss ? early * (1 + RSS_GROWTH_LIMIT) : early + 3)) {
      warnings.push(`${key}: its median over the later minutes (${fixed(late, 0)}) is above that of the earlier ones (${fixed(early, 0)}) by more than ${rss ? `${RSS_GROWTH_LIMIT * 100} %` : '3'}`);
    }
  }
  return warnings;
}

const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

export default {
  name: 'soak',
  runs: 1,
  description:
    `One ROLE=api and two ROLE=worker processes (${WORKER_ENV.MAX_CONCURRENT_JOBS} slots each) on one database: capacity measured with ` +
    `${CAPACITY_JOBS.toLocaleString('en')} noop jobs (batches of 1,000, 4 in flight), then noop jobs submitted every ${TICK_MS} ms at half ` +
    `that rate for ${DEFAULT_MINUTES} minutes (\`--minutes\`), one row a minute: RSS of each process, PostgreSQL connections of the ` +
    `database, pickup p50/p99 (job_created -> job_started), jobs/s completed and the backlog at the minute's end. Runs once.`,
  async run(ctx) {
    const minutes = ctx.minutes ?? DEFAULT_MINUTES;
    const api = await ctx.startService({ role: 'api', label: 'soak-api' });
    const shared = { DATABASE_URL: api.databaseUrl, REDIS_PREFIX: api.redisPrefix };
    const services = [api];
    const admin = new pg.Client({ connectionString: api.databaseUrl.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    try {
      for (const id of ['soak-w1', 'soak-w2']) {
        services.push(await ctx.startService({ role: 'worker', label: id, env: { ...WORKER_ENV, ...shared, WORKER_ID: id } }));
      }
      const names = ['api', 'w1', 'w2'];
      const connections = async () =>
        Number((await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [api.dbName])).rows[0].n);

      const capacity = await throughput(api, 'capacity', { jobs: CAPACITY_JOBS });
      const rate = capacity.metrics['jobs/s'] / 2;
      ctx.log(`capacity ${fixed(capacity.metrics['jobs/s'], 0)} jobs/s: soaking at ${fixed(rate, 0)} jobs/s for ${minutes} min`);

      const feed = await eventFeed(api);
      const created = new Map();
      let latencies = [];
      let completedInMinute = 0;
      feed.on((event, at) => {
        if (event.event === 'job_created') created.set(event.jobId, at);
        else if (event.event === 'job_started') {
          const from = created.get(event.jobId);
          if (from !== undefined) {
            latencies.push(at - from);
            created.delete(event.jobId);
          }
        } else if (event.event === 'job_completed') completedInMinute += 1;
      });

      const rows = [];
      const warnings = [];
      let submitted = 0;
      let completedBefore = (await jobCounts(api)).completed ?? 0;
      let submittedInMinute = 0;
      const startedAt = Date.now();
      const endAt = startedAt + minutes * 60_000;
      let minuteEnd = startedAt + 60_000;
      let minute = 1;
      for (;;) {
        const tickAt = Date.now();
        if (Date.now() >= Math.min(minuteEnd, endAt)) {
          const counts = await jobCounts(api);
          const backlog = (counts.ready ?? 0) + (counts.running ?? 0) + (counts.pending ?? 0);
          const metrics = {};
          services.forEach((s, i) => (metrics[`RSS ${names[i]} MB`] = rssMb(s.pid)));
          metrics['PG conns'] = await connections();
          metrics['pickup p50 ms'] = percentile(latencies, 50);
          metrics['pickup p99 ms'] = percentile(latencies, 99);
          const seconds = (Date.now() - (minuteEnd - 60_000)) / 1000;
          metrics['submitted/s'] = submittedInMinute / seconds;
          metrics['done/s'] = completedInMinute / seconds;
          metrics.backlog = backlog;
          const line = `minute ${minute}: RSS ${names.map((n) => `${n} ${fixed(metrics[`RSS ${n} MB`], 0)} MB`).join(', ')}; PG connections ${metrics['PG conns']}; pickup p50 ${fixed(metrics['pickup p50 ms'])} ms, p99 ${fixed(metrics['pickup p99 ms'])} ms; ${fixed(metrics['submitted/s'], 0)} jobs/s submitted, ${fixed(metrics['done/s'], 0)} completed; backlog ${backlog}`;
          ctx.log(line);
          rows.push({ label: `minute ${minute}`, metrics });
          latencies = [];
          completedInMinute = 0;
          submittedInMinute = 0;
          minute += 1;
          minuteEnd += 60_000;
        }
        if (Date.now() >= endAt) break;
        // What the rate owes since the start (a slow tick is made up by the next batch), at most a second's worth.
        const size = Math.min(Math.ceil(rate), Math.floor((rate * (tickAt - startedAt)) / 1000) - submitted);
        if (size > 0) {
          await postJson(api, '/jobs/batch', { jobs: Array.from({ length: size }, () => ({ type: 'noop' })) });
          submitted += size;
          submittedInMinute += size;
        }
        await sleep(Math.max(0, TICK_MS - (Date.now() - tickAt)));
      }
      feed.close();

      // Every job submitted during the soak ends: nothing stays behind once the load stops.
      const deadline = Date.now() + 60_000;
      let done = 0;
      while (Date.now() < deadline) {
        done = ((await jobCounts(api)).completed ?? 0) - completedBefore;
        if (done >= submitted) break;
        await sleep(500);
      }
      if (done < submitted) warnings.push(`only ${done} of the ${submitted} jobs submitted during the soak completed within 60 s of its end`);

      const last = rows.at(-1)?.metrics;
      if (last && last.backlog > Math.max(200, rate * 2)) warnings.push(`a backlog of ${last.backlog} jobs at the end: the service fell behind half its capacity`);
      if (rows.length >= MIN_MINUTES_TO_JUDGE) warnings.push(...notFlat(rows, [...names.map((n) => `RSS ${n} MB`), 'PG conns']));
      else ctx.log(`${rows.length} minutes are too few to judge flatness (${MIN_MINUTES_TO_JUDGE} or more): the figures are reported only`);
      const summary = {
        label: 'soak',
        metrics: { 'capacity jobs/s': capacity.metrics['jobs/s'], 'rate jobs/s': rate, minutes, submitted, completed: done },
        warnings: [...capacity.warnings, ...warnings],
      };
      return [capacity, summary, ...rows];
    } finally {
      await admin.end().catch(() => undefined);
      // Workers first: the API's stop drops the database they share.
      for (const s of services.slice(1)) await ctx.stopService(s);
      await ctx.stopService(api);
    }
  },
};
