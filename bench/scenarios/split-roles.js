// One ROLE=api process and two ROLE=worker processes against one ROLE=all process, on this machine: the same
// noop jobs end to end (batches of 1,000) and the same pickup, with the CPU each process, PostgreSQL and Redis
// spent a job. What it shows on two cores is what the split costs (Bull's hand-over through Redis, a second
// and third JS thread); the figures a job are what an estimate for separate machines starts from
// (bench/README.md, "Separate processes and machines").
import { pickup, throughput } from '../lib/end-to-end.js';
import { cpuPerJob, cpuSnapshot } from '../lib/cpu.js';
import { postJson } from '../lib/events.js';

const JOBS = Number(process.env.BENCH_SPLIT_JOBS ?? 20_000);
const WARMUP_JOBS = 5_000;
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 300);
const SLOTS = { MAX_CPU_UNITS: '500', MAX_MEMORY_MB: '1000000', DB_POOL_SIZE: '20' };
const ALL_ENV = { ...SLOTS, MAX_CONCURRENT_JOBS: '500' };
/** Two workers share the 500 slots of the single process. */
const WORKER_ENV = { ...SLOTS, MAX_CONCURRENT_JOBS: '250', RUN_MIGRATIONS: 'false' };

/** The throughput round with the CPU a job of each process in `pids` (name -> pid), PostgreSQL and Redis. */
async function measuredRound(entry, label, pids) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSnapshot(pid)]));
  const row = await throughput(entry, label, { jobs: JOBS });
  const names = Object.keys(pids);
  for (const name of names) {
    const cpu = cpuPerJob(before[name], cpuSnapshot(pids[name]), row.metrics.completed);
    if (!cpu) continue;
    row.metrics[`${name} µs/job`] = cpu.service;
    if (name === names[0]) {
      row.metrics['postgres µs/job'] = cpu.postgres;
      row.metrics['redis µs/job'] = cpu.redis;
      row.metrics['machine busy %'] = cpu.machineBusyPct;
    }
  }
  return row;
}

/** Submits only (batches of 1,000, 4 in flight) to an API with no worker: what accepting a job costs alone. */
async function submitOnly(api, label, jobs) {
  const before = cpuSnapshot(api.pid);
  const started = performance.now();
  let left = jobs;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left > 0) {
        const size = Math.min(1000, left);
        left -= size;
        await postJson(api, '/jobs/batch', { jobs: Array.from({ length: size }, () => ({ type: 'noop' })) });
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const cpu = cpuPerJob(before, cpuSnapshot(api.pid), jobs);
  return {
    label,
    metrics: { 'jobs/s': jobs / wallS, 'wall s': wallS, ...(cpu ? { 'api µs/job': cpu.service, 'postgres µs/job': cpu.postgres, 'machine busy %': cpu.machineBusyPct } : {}) },
    warnings: [],
  };
}

export default {
  name: 'split-roles',
  description:
    `${JOBS.toLocaleString('en')} noop jobs end to end (POST /jobs/batch of 1,000, 4 in flight, after a warm-up of ` +
    `${WARMUP_JOBS.toLocaleString('en')}) and pickup (${PICKUP_JOBS} single submits 10 ms apart), first on one ROLE=all process ` +
    `(${ALL_ENV.MAX_CONCURRENT_JOBS} slots), then on one ROLE=api process with two ROLE=worker processes (${WORKER_ENV.MAX_CONCURRENT_JOBS} ` +
    `slots each) on one database and Redis prefix; and the submits alone on a ROLE=api process with no worker (jobs accepted, ` +
    `none run), which parts the API's CPU a job into accepting it and the leader's scheduling. **µs/job**: CPU (user + system) a completed job of each process, of every PostgreSQL ` +
    `and Redis process on the machine; **vs all**: the split's figure over the single process's in the same run.`,
  async run(ctx) {
    const rows = [];
    const all = await ctx.startService({ label: `split-all-run${ctx.run}`, env: ALL_ENV });
    let single;
    let singlePickup;
    try {
      await throughput(all, 'warm-up', { jobs: WARMUP_JOBS });
      single = await measuredRound(all, `ROLE=all: ${JOBS} noop, batches of 1,000`, { all: all.pid });
      singlePickup = await pickup(all, 'ROLE=all: pickup', { jobs: PICKUP_JOBS });
    } finally {
      await ctx.stopService(all);
    }
    rows.push(single, singlePickup);

    const lone = await ctx.startService({ role: 'api', label: `split-api-alone-run${ctx.run}`, env: SLOTS });
    try {
      await submitOnly(lone, 'warm-up', WARMUP_JOBS);
      rows.push(await submitOnly(lone, `ROLE=api alone, no worker: ${JOBS} noop accepted, batches of 1,000 (nothing runs)`, JOBS));
    } finally {
      await ctx.stopService(lone);
    }

    const api = await ctx.startService({ role: 'api', label: `split-api-run${ctx.run}`, env: SLOTS });
    const shared = { DATABASE_URL: api.databaseUrl, REDIS_PREFIX: api.redisPrefix };
    const workers = [];
    try {
      for (const id of ['split-w1', 'split-w2']) {
        workers.push(await ctx.startService({ role: 'worker', label: `${id}-run${ctx.run}`, env: { ...WORKER_ENV, ...shared, WORKER_ID: id } }));
      }
      await throughput(api, 'warm-up', { jobs: WARMUP_JOBS });
      const split = await measuredRound(api, `ROLE=api + 2 ROLE=worker: ${JOBS} noop, batches of 1,000`, {
        api: api.pid,
        w1: workers[0].pid,
        w2: workers[1].pid,
      });
      split.metrics['vs all'] = split.metrics['jobs/s'] / single.metrics['jobs/s'];
      const splitPickup = await pickup(api, 'ROLE=api + 2 ROLE=worker: pickup', { jobs: PICKUP_JOBS });
      splitPickup.metrics['vs all'] = splitPickup.metrics['p99 ms'] / singlePickup.metrics['p99 ms'];
      rows.push(split, splitPickup);
    } finally {
      // The workers first: the API's stop drops the database they share.
      for (const w of workers) await ctx.stopService(w);
      await ctx.stopService(api);
    }
    return rows;
  },
};
