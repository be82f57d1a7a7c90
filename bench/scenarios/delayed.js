// Delayed jobs (DESIGN §10): 10,000 jobs due within the same second; how late each one is promoted
// (pending -> ready) and started after its run_at.
import { eventFeed, jobCounts, postJson, sleep } from '../lib/events.js';
import { percentile } from '../lib/stats.js';

const ENV = { MAX_CONCURRENT_JOBS: '200', MAX_CPU_UNITS: '200', MAX_MEMORY_MB: '1000000', MAX_BODY_BYTES: '33554432', DB_POOL_SIZE: '20' };
const BATCH = 1000;

async function patchJson(service, path, body) {
  const res = await fetch(`${service.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`PATCH ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

/**
 * `paused`: the noop queue is paused first, so the jobs are promoted but none starts: the promotion
 * alone, without the runs of the same jobs competing for the same process and database. The queue
 * is resumed afterwards, and they run before the next round.
 */
async function dueInOneSecond(service, feed, count, { paused = false } = {}) {
  if (paused) await patchJson(service, '/queues/noop', { paused: true });
  const lead = Number(process.env.BENCH_DELAYED_LEAD_MS ?? 30_000);
  // Spread over one second, to the millisecond: run_at = T + i / count s.
  const t0 = Date.now() + lead;
  const runAt = Array.from({ length: count }, (_, i) => t0 + Math.floor((i * 1000) / count));
  const due = new Map();
  const readyAt = new Map();
  const promotedAt = new Map();
  const startedAt = new Map();
  // Wall-clock stamps on arrival (the bench, PostgreSQL and the service share this machine's clock).
  // Every job's first stamps are kept (a batch's events may arrive before its answer names its ids).
  const off = feed.on((m, at) => {
    const wall = performance.timeOrigin + at;
    if (m.event === 'job_ready' && !readyAt.has(m.jobId)) {
      readyAt.set(m.jobId, wall);
      promotedAt.set(m.jobId, Date.parse(m.data.timestamp));
    }
    if (m.event === 'job_started' && !startedAt.has(m.jobId)) startedAt.set(m.jobId, wall);
  });
  const submitStart = performance.now();
  // Submitted in shuffled order, so due order is not submit order.
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => ((a * 7919) % count) - ((b * 7919) % count));
  for (let start = 0; start < count; start += BATCH) {
    const slice = order.slice(start, start + BATCH);
    const { items } = await postJson(service, '/jobs/batch', {
      jobs: slice.map((i) => ({ type: 'noop', run_at: new Date(runAt[i]).toISOString() })),
    });
    items.forEach((item, k) => due.set(item.id, runAt[slice[k]]));
  }
  const submitSeconds = (performance.now() - submitStart) / 1000;
  const warnings = [];
  if (Date.now() > t0) warnings.push(`the submit took ${submitSeconds.toFixed(1)} s, past the first run_at: raise BENCH_DELAYED_LEAD_MS`);
  const deadline = t0 + 1000 + 60_000;
  const waited = paused ? readyAt : startedAt;
  while ([...due.keys()].some((id) => !waited.has(id)) && Date.now() < deadline) await sleep(250);
  off();
  if (paused) {
    // Resumed, the paused round's jobs run; the next round starts once they have.
    await patchJson(service, '/queues/noop', { paused: false });
    const until = Date.now() + 120_000;
    await sleep(1500); // the counts are folded once a second
    for (let c = await jobCounts(service); Date.now() < until && (c.ready ?? 0) + (c.running ?? 0) > 0; c = await jobCounts(service)) await sleep(250);
  }
  const lateness = (stamps) => [...stamps].filter(([id]) => due.has(id)).map(([id, at]) => at - due.get(id));
  const ready = lateness(readyAt);
  const promoted = lateness(promotedAt);
  const started = lateness(startedAt);
  if (ready.length < count) warnings.push(`only ${ready.length}/${count} job_ready events seen`);
  const early = ready.filter((ms) => ms < 0).length;
  if (early > 0) warnings.push(`${early} jobs became ready before their run_at`);
  return {
    label: `${count.toLocaleString('en-US')} delayed jobs due within one second${paused ? ', queue paused (promotion only)' : ', run as they come due'}`,
    metrics: {
      'promotion lateness p50 ms': percentile(ready, 50),
      'promotion lateness p99 ms': percentile(ready, 99),
      'promotion lateness max ms': Math.max(...ready),
      'promotion commit p50 ms': percentile(promoted, 50),
      'promotion commit p99 ms': percentile(promoted, 99),
      'start lateness p50 ms': paused ? null : percentile(started, 50),
      'start lateness p99 ms': paused ? null : percentile(started, 99),
      'submit s': submitSeconds,
    },
    warnings,
  };
}

export default {
  name: 'delayed',
  description:
    'One `ROLE=all` service per run (fresh database, worker capacity 200 slots). 10,000 noop jobs submitted through POST /jobs/batch ' +
    '(1,000 a batch, in an order unlike their due order) with run_at spread evenly over one second, 30 seconds ahead (`BENCH_DELAYED_LEAD_MS`: the submit must end before it). ' +
    'Two rounds on the service: first with the noop queue paused (the jobs are promoted, none starts: the promotion alone; then ' +
    'the queue is resumed and they run), then with the jobs running as they come due. ' +
    '**promotion lateness** = the job_ready event received on the bench\'s own Redis subscription - run_at (wall clock; the bench, ' +
    'PostgreSQL and the service share the machine\'s clock), so it includes the publish path; **promotion commit** = the timestamp ' +
    'the promoting statement wrote - run_at; **start lateness** = job_started received - run_at. Target: promotion lateness p99 ≤ 100 ms.',

  async run(ctx) {
    const service = await ctx.startService({ label: `delayed-run${ctx.run}`, env: ENV });
    const feed = await eventFeed(service);
    try {
      const count = Number(process.env.BENCH_DELAYED_JOBS ?? 10_000);
      const rows = [await dueInOneSecond(service, feed, count, { paused: true })];
      await sleep(2000);
      rows.push(await dueInOneSecond(service, feed, count));
      return rows;
    } finally {
      feed.close();
      await ctx.stopService(service);
    }
  },
};
