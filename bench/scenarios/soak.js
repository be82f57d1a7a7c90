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
/** Over the soak's later minutes (the first is warm-up), RSS may grow this much before it counts as not flat. */
const RSS_GROWTH_LIMIT = 0.25;

/** Resident set size of a process, MB (Linux /proc). */
function rssMb(pid) {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : NaN;
  } catch {
    return NaN;
  }
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

      // Flat: the median of the last three minutes against that of minutes 2-4 (the first includes
      // warm-up; a median, because RSS moves by a third with each major GC). Shorter soaks only report.
      const last = rows.at(-1)?.metrics;
      if (last && last.backlog > Math.max(200, rate * 2)) warnings.push(`a backlog of ${last.backlog} jobs at the end: the service fell behind half its capacity`);
      if (rows.length >= 7) {
        const medianOf = (from, to, key) => median(rows.slice(from, to).map((r) => r.metrics[key]));
        for (const key of [...names.map((n) => `RSS ${n} MB`), 'PG conns']) {
          const [early, late] = [medianOf(1, 4, key), medianOf(-3, undefined, key)];
          const limit = key === 'PG conns' ? early + 5 : early * (1 + RSS_GROWTH_LIMIT);
          if (late > limit) warnings.push(`${key} grew from ${fixed(early, 0)} (minutes 2-4) to ${fixed(late, 0)} (the last three minutes)`);
        }
      } else {
        ctx.log(`${rows.length} minutes are too few to judge flatness (7 or more): the figures are reported only`);
      }
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
