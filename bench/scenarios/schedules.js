// Recurring schedules (docs/schedules.md): many one-second schedules firing at once; how late each tick's
// job is created, whether any tick is lost, and what the firing costs the pickup of ordinary jobs beside it.
import pg from 'pg';
import { pickup } from '../lib/end-to-end.js';
import { postJson, sleep } from '../lib/events.js';
import { percentile } from '../lib/stats.js';

const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 1000);
const SECONDS = Number(process.env.BENCH_SCHEDULE_S ?? 30);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 300);
/** Ticks of the first seconds are left out: the schedules are still being created then. */
const WARMUP_S = 3;
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
    `Lateness = job created_at - scheduled_for (its tick), over the ticks after the first ${WARMUP_S} s; lost = ticks with no job. ` +
    `Pickup (${PICKUP_JOBS} noop jobs 10 ms apart, created -> started) is measured alone, then beside the firing; "vs alone" is beside / alone.`,
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
        `SELECT extract(epoch FROM created_at - scheduled_for) * 1000 AS ms FROM jobs
         WHERE schedule_id IS NOT NULL AND scheduled_for >= $1 AND scheduled_for < $2`,
        [from, to],
      );
      const ms = late.map((r) => Number(r.ms));
      const expected = SCHEDULES * Math.round((to.getTime() - from.getTime()) / 1000);
      rows.push({
        label: `${SCHEDULES} schedules x 1 s, fire lateness`,
        metrics: { 'p50 ms': percentile(ms, 50), 'p99 ms': percentile(ms, 99), 'max ms': Math.max(...ms), fired: ms.length, lost: expected - ms.length },
        warnings: expected !== ms.length ? [`${expected - ms.length} of ${expected} ticks have no job`] : [],
      });
      rows.push(beside);
    } finally {
      await db.end().catch(() => undefined);
      await ctx.stopService(service);
    }
    return rows;
  },
};
