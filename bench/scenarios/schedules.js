// Recurring schedules (docs/schedules.md): many one-second schedules firing at once; how late each tick's
// job is created, whether any tick is lost, and what the firing costs the pickup of ordinary jobs beside it.
import pg from 'pg';
import { pickup, pickupByGroup } from '../lib/end-to-end.js';
import { eventFeed, postJson, sleep } from '../lib/events.js';
import { percentile } from '../lib/stats.js';

const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 1000);
const SECONDS = Number(process.env.BENCH_SCHEDULE_S ?? 30);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 300);
/** Ticks of the first seconds are left out: the schedules are still being created then. */
const WARMUP_S = 3;
/** The pickup beside the low-priority firing is also reported for jobs submitted this soon after a tick, and for the rest. */
const BURST_MS = 300;
const ENV = { MAX_CONCURRENT_JOBS: '500', MAX_CPU_UNITS: '500', MAX_MEMORY_MB: '1000000', DB_POOL_SIZE: '20', RETENTION_COMPLETED_SECONDS: '0' };

async function request(service, method, path, body) {
  const res = await fetch(`${service.url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  await res.body?.cancel();
}

export default {
  name: 'schedules',
  description:
    `${SCHEDULES} schedules firing every second (\`* * * * * *\`, noop, overlap allow) for ${SECONDS} s in one ROLE=all process. ` +
    `Lateness to commit = arrival of the job's job_created event on the Redis channel (published after its commit) - scheduled_for (its tick); ` +
    `"to created_at" = the job's created_at (its transaction's start) - its tick; both over the ticks after the first ${WARMUP_S} s; lost = ticks with no job. ` +
    `Pickup (${PICKUP_JOBS} noop jobs 10 ms apart, created -> started, priority normal) is measured alone, then beside the firing, in the same service; "vs alone" is beside / alone. ` +
    `It is measured beside the firing twice: with the schedules' jobs at the measured jobs' priority (normal), where a job submitted ` +
    `just after a tick waits behind that tick's up to ${SCHEDULES} fired jobs (equal priority: the one due earliest goes first), so the ` +
    `figure is the ordering plus the cost of firing; then with the template changed to priority low, where the measured jobs go first ` +
    `and what is left is the cost of firing on the engine (CPU, database). ` +
    `That last pickup is also split by when each job was submitted: within ${BURST_MS} ms after a tick (the firing and running of the tick's jobs) or later. The worker offers 500 slots: a noop job holds a slot for ` +
    `about a millisecond, so slots never run out.`,
  async run(ctx) {
    const service = await ctx.startService({ env: ENV });
    const db = new pg.Client({ connectionString: service.databaseUrl });
    const rows = [];
    try {
      await db.connect();
      const alone = await pickup(service, 'pickup, no schedules', { jobs: PICKUP_JOBS });
      rows.push(alone);

      const created = performance.now();
      for (let i = 0; i < SCHEDULES; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, SCHEDULES - i) }, (_, k) =>
            postJson(service, '/schedules', { name: `bench-${i + k}`, cron: '* * * * * *', job: { type: 'noop' }, overlap_policy: 'allow', catch_up: 'none' }),
          ),
        );
      }
      ctx.log(`${SCHEDULES} schedules created in ${Math.round(performance.now() - created)} ms`);
      // Wall-clock arrival of every job_created event: the fired job's commit, seen from outside.
      const feed = await eventFeed(service);
      const seen = new Map();
      feed.on((event, at) => {
        if (event.event === 'job_created') seen.set(event.jobId ?? event.job_id, performance.timeOrigin + at);
      });
      const from = new Date(Math.ceil(Date.now() / 1000) * 1000 + WARMUP_S * 1000);
      await sleep(from.getTime() - Date.now());
      const beside = await pickup(service, `pickup, beside ${SCHEDULES} schedules`, { jobs: PICKUP_JOBS });
      beside.metrics['vs alone'] = beside.metrics['p99 ms'] / alone.metrics['p99 ms'];
      const to = new Date(from.getTime() + (SECONDS - WARMUP_S) * 1000);
      await sleep(Math.max(0, to.getTime() - Date.now()) + 2000);
      for (let i = 0; i < SCHEDULES; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, SCHEDULES - i) }, (_, k) => request(service, 'PATCH', `/schedules/bench-${i + k}`, { paused: true })));
      }
      const { rows: late } = await db.query(
        `SELECT id, scheduled_for, extract(epoch FROM created_at - scheduled_for) * 1000 AS ms FROM jobs
         WHERE schedule_id IS NOT NULL AND scheduled_for >= $1 AND scheduled_for < $2`,
        [from, to],
      );
      feed.close();
      const ms = late.map((r) => Number(r.ms));
      const toCommit = late.filter((r) => seen.has(r.id)).map((r) => seen.get(r.id) - r.scheduled_for.getTime());
      const expected = SCHEDULES * Math.round((to.getTime() - from.getTime()) / 1000);
      rows.push({
        label: `${SCHEDULES} schedules x 1 s, fire lateness`,
        metrics: {
          'p50 ms': percentile(toCommit, 50), 'p99 ms': percentile(toCommit, 99), 'max ms': Math.max(...toCommit),
          'p50 to created_at': percentile(ms, 50), 'p99 to created_at': percentile(ms, 99),
          fired: ms.length, lost: expected - ms.length, 'events seen': toCommit.length,
        },
        warnings: expected !== ms.length ? [`${expected - ms.length} of ${expected} ticks have no job`] : [],
      });
      rows.push(beside);

      // The same firing with the schedules' jobs below the measured ones: the ordering effect removed.
      for (let i = 0; i < SCHEDULES; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, SCHEDULES - i) }, (_, k) =>
            request(service, 'PATCH', `/schedules/bench-${i + k}`, { paused: false, job: { type: 'noop', priority: 'low' } }),
          ),
        );
      }
      await sleep(WARMUP_S * 1000);
      // Split by when in the second each job was submitted: the ticks fall on whole seconds, and the firing and
      // running of a tick's jobs fill the machine for the first few hundred milliseconds after it.
      const lowRows = await pickupByGroup(
        service,
        { burst: `pickup beside priority low, submitted 0-${BURST_MS - 1} ms after a tick`, rest: `pickup beside priority low, submitted ${BURST_MS}-999 ms after a tick` },
        { jobs: PICKUP_JOBS, groupOf: () => (Date.now() % 1000 < BURST_MS ? 'burst' : 'rest'), totalLabel: `pickup, beside ${SCHEDULES} schedules of priority low` },
      );
      for (const row of lowRows) row.metrics['vs alone'] = row.metrics['p99 ms'] / alone.metrics['p99 ms'];
      rows.push(...lowRows);
      for (let i = 0; i < SCHEDULES; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, SCHEDULES - i) }, (_, k) => request(service, 'PATCH', `/schedules/bench-${i + k}`, { paused: true })));
      }
    } finally {
      await db.end().catch(() => undefined);
      await ctx.stopService(service);
    }
    return rows;
  },
};
