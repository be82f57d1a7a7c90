// End-to-end throughput (submit -> completed) and pickup latency (submit -> running) of noop jobs,
// one `ROLE=all` process; the throughput also in embedded mode.
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuPerJob, cpuSnapshot } from '../lib/cpu.js';
import { eventFeed, jobCounts, postJson, sleep } from '../lib/events.js';
import { startBullmq, startGraphile } from '../lib/references.js';
import { percentile } from '../lib/stats.js';

const JOBS = Number(process.env.BENCH_E2E_JOBS ?? 20_000);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 500);
const BODY = JSON.stringify({ type: 'noop' });
const FRESH = 'fresh process';
const WARM = 'same process, warm (its 2nd round)';
/** Capacity of the one worker: enough slots and units that noop jobs are never held back by placement. */
const WORKER_ENV = { MAX_CONCURRENT_JOBS: '500', MAX_CPU_UNITS: '500', MAX_MEMORY_MB: '1000000', DB_POOL_SIZE: '20' };

/**
 * Resolves when `jobs` job_completed events have come through the service's Redis event channel
 * (or 5 minutes pass): { completed, wallS } since `started`. Listening to the events, not polling,
 * costs the service nothing and does not depend on when the load generator notices it is done
 * (autocannon reports `amount` runs on its one-second tick).
 */
async function completionOf(service, jobs, started, embedded, submitted) {
  if (embedded) return polledCompletion(service, jobs, started, submitted);
  const feed = await eventFeed(service);
  let completed = 0;
  let at = null;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const off = feed.on((event, receivedAt) => {
    if (event.event !== 'job_completed') return;
    completed += 1;
    if (completed === jobs) {
      at = receivedAt;
      resolve();
    }
  });
  const timeout = setTimeout(resolve, 300_000);
  return {
    async wait() {
      await done;
      clearTimeout(timeout);
      off();
      feed.close();
      return { completed, wallS: ((at ?? performance.now()) - started) / 1000 };
    },
  };
}

/**
 * Embedded services have no Redis channel: poll /metrics every 20 ms from when the last submit is answered
 * (`submitted`). Not from when autocannon returns: it reports an `amount` run done only on its one-second
 * tick, and most jobs complete within that second (polling from there measured 982 or 1,230 jobs/s, by
 * where the tick fell, for runs whose jobs had all completed 3.2 s in).
 */
function polledCompletion(service, jobs, started, submitted) {
  // Polls from when `submitted` resolves, whenever wait() is called (the caller calls it once autocannon returns).
  const result = (async () => {
    await submitted;
    const deadline = Date.now() + 300_000;
    let completed = 0;
    while (Date.now() < deadline) {
      completed = (await jobCounts(service)).completed ?? 0;
      if (completed >= jobs) break;
      await sleep(20);
    }
    return { completed, wallS: (performance.now() - started) / 1000 };
  })();
  return { wait: () => result };
}

/**
 * Where the CPU went, a job (µs) and the machine's busy share: what bounds the figure. The embedded
 * service has its database inside its own process, so only its own CPU and the machine's are shown.
 */
function cpuMetrics(cpu, embedded = false) {
  if (!cpu) return {};
  const servers = embedded ? {} : { 'postgres µs/job': cpu.postgres, 'redis µs/job': cpu.redis };
  return { 'service µs/job': cpu.service, ...servers, 'machine busy %': cpu.machineBusyPct };
}

async function endToEnd(service, label, jobs, { embedded = false } = {}) {
  const completedBefore = (await jobCounts(service)).completed ?? 0;
  const cpuBefore = cpuSnapshot(service.pid);
  const started = performance.now();
  let responses = 0;
  let allAnswered;
  const submitted = new Promise((r) => (allAnswered = r));
  const completion = await completionOf(service, jobs, started, embedded, submitted);
  let lastResponse = started;
  const r = await autocannon({
    url: `${service.url}/jobs`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections: 64,
    amount: jobs,
    timeout: 60,
    setupClient: (client) =>
      client.on('response', () => {
        lastResponse = performance.now();
        if (++responses === jobs) allAnswered();
      }),
  });
  allAnswered(); // also when some requests failed (the warnings say so)
  const submittedS = (lastResponse - started) / 1000;
  const { completed, wallS } = await completion.wait();
  const cpu = cpuPerJob(cpuBefore, cpuSnapshot(service.pid), jobs);
  const counted = ((await jobCounts(service)).completed ?? 0) - completedBefore;
  const warnings = [];
  if (r.non2xx || r.errors) warnings.push(`${r.non2xx} non-2xx, ${r.errors} errors while submitting`);
  if (completed < jobs || counted < jobs) warnings.push(`only ${Math.min(completed, counted)}/${jobs} completed before the deadline`);
  return {
    label,
    metrics: { 'jobs/s': completed / wallS, 'submit req/s': jobs / submittedS, 'wall s': wallS, completed: counted, ...cpuMetrics(cpu, embedded) },
    warnings,
  };
}

/** The same jobs through POST /jobs/batch (1,000 per batch, 4 batches in flight): the engine without per-job HTTP. */
async function endToEndBatch(service, label, jobs) {
  const completedBefore = (await jobCounts(service)).completed ?? 0;
  const cpuBefore = cpuSnapshot(service.pid);
  const started = performance.now();
  const completion = await completionOf(service, jobs, started);
  const batches = Array.from({ length: Math.ceil(jobs / 1000) }, (_, i) => Math.min(1000, jobs - i * 1000));
  const body = (n) => ({ jobs: Array.from({ length: n }, () => ({ type: 'noop' })) });
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) await postJson(service, '/jobs/batch', body(batches[next++]));
    }),
  );
  const submittedS = (performance.now() - started) / 1000;
  const { completed, wallS } = await completion.wait();
  const cpu = cpuPerJob(cpuBefore, cpuSnapshot(service.pid), jobs);
  const counted = ((await jobCounts(service)).completed ?? 0) - completedBefore;
  return {
    label,
    metrics: { 'jobs/s': completed / wallS, 'submit req/s': jobs / submittedS, 'wall s': wallS, completed: counted, ...cpuMetrics(cpu) },
    warnings: completed < jobs || counted < jobs ? [`only ${Math.min(completed, counted)}/${jobs} completed before the deadline`] : [],
  };
}

async function pickup(service) {
  const feed = await eventFeed(service);
  const created = new Map();
  const sentAt = new Map();
  const started = new Map();
  const latencies = [];
  const fromPost = [];
  const measure = (id) => {
    if (!sentAt.has(id) || !started.has(id)) return;
    fromPost.push(started.get(id) - sentAt.get(id));
    sentAt.delete(id);
  };
  feed.on((message, at) => {
    if (message.event === 'job_created') created.set(message.jobId, at);
    if (message.event === 'job_started') {
      started.set(message.jobId, at);
      if (created.has(message.jobId)) latencies.push(at - created.get(message.jobId));
      measure(message.jobId);
    }
  });
  try {
    for (let i = 0; i < PICKUP_JOBS; i++) {
      const sent = performance.now();
      const job = await postJson(service, '/jobs', { type: 'noop' });
      sentAt.set(job.id, sent);
      measure(job.id);
      await sleep(10);
    }
    const deadline = Date.now() + 30_000;
    while (latencies.length < PICKUP_JOBS && Date.now() < deadline) await sleep(50);
    const row = pickupRow(`pickup, ${PICKUP_JOBS} jobs 10 ms apart`, latencies);
    row.metrics['from POST p50 ms'] = percentile(fromPost, 50);
    row.metrics['from POST p99 ms'] = percentile(fromPost, 99);
    return row;
  } finally {
    feed.close();
  }
}

/** The pickup row of draconic or of the reference: percentiles of the latencies, and a warning for jobs that never started. */
function pickupRow(label, latencies) {
  return {
    label,
    metrics: { 'p50 ms': percentile(latencies, 50), 'p99 ms': percentile(latencies, 99), 'max ms': Math.max(...latencies), measured: latencies.length },
    warnings: latencies.length < PICKUP_JOBS ? [`only ${latencies.length}/${PICKUP_JOBS} started`] : [],
  };
}

const REFERENCES = { BullMQ: startBullmq, 'graphile-worker': startGraphile };

/** Runs `measure(reference)` on a fresh reference process, then stops it; its clean-up warnings go on the last row. */
async function withReference(name, measure) {
  const reference = await REFERENCES[name]();
  let rows;
  try {
    rows = await measure(reference);
  } finally {
    const warnings = await reference.stop();
    rows?.at(-1)?.warnings.push(...warnings);
  }
  return rows;
}

async function referencePickup(name) {
  const [row] = await withReference(name, async (reference) => {
    const { pickup: latencies } = await reference.request({ cmd: 'pickup', jobs: PICKUP_JOBS, gapMs: 10 });
    return [pickupRow(`${name} reference: pickup, ${PICKUP_JOBS} jobs 10 ms apart`, latencies)];
  });
  return row;
}

/** Two rounds (fresh, warm) of `jobs` noop jobs, added one at a time from 64 loops (`round`) or 1,000 at a time (`batch`). */
function referenceRounds(name, jobs, cmd) {
  const how = {
    BullMQ: { round: 'queue.add x64', batch: 'queue.addBulk of 1,000' },
    'graphile-worker': { round: 'addJob x64', batch: 'addJobs of 1,000' },
  }[name][cmd];
  return withReference(name, async (reference) => {
    const rows = [];
    for (const when of [FRESH, WARM]) {
      const cpuBefore = cpuSnapshot(reference.pid);
      const { round } = await reference.request({ cmd, jobs });
      const cpu = cpuPerJob(cpuBefore, cpuSnapshot(reference.pid), jobs);
      rows.push({
        label: `${name} reference: ${jobs} noop, ${how}, ${when}`,
        metrics: { 'jobs/s': round.completed / round.wallS, 'wall s': round.wallS, completed: round.completed, ...cpuMetrics(cpu) },
        warnings: round.completed < jobs ? [`only ${round.completed}/${jobs} completed before the deadline`] : [],
      });
    }
    return rows;
  });
}

/** The row's headline figure over the same figure of each reference row measured beside it in this run. */
function versus(row, references, metric) {
  for (const [name, reference] of Object.entries(references)) row.metrics[`vs ${name}`] = row.metrics[metric] / reference.metrics[metric];
  return row;
}

export default {
  name: 'engine-throughput',
  description:
    `One \`ROLE=all\` service per measurement (fresh database; worker capacity ${JSON.stringify(WORKER_ENV)}). ` +
    `**e2e**: ${JOBS} \`noop\` jobs through \`POST /jobs\` from 64 connections (autocannon); jobs/s = jobs / (first submit -> last job_completed event, ` +
    'read from the Redis event channel; the count is checked on /metrics afterwards). **batch**: the same jobs through `POST /jobs/batch`, 1,000 per batch, 4 in flight. ' +
    `Both run two rounds on one service: *${FRESH}* is its first ${JOBS} jobs, *${WARM}* the next ${JOBS} once those completed (V8 has compiled the hot paths by then; the tables hold the first round's jobs). ` +
    '**embedded**: one round of the same with neither DATABASE_URL nor REDIS_URL (PGlite, in-process queue) on a fresh process. ' +
    `**pickup**: on a fresh idle service, ${PICKUP_JOBS} jobs submitted one at a time 10 ms apart; latency = job_started event received - ` +
    'job_created event received (both read from the Redis event channel by the bench, so the pub/sub delivery cancels out); ' +
    '"from POST" = the `POST /jobs` sent -> its job_started event received (the submit\'s HTTP round trip and one pub/sub delivery included, ' +
    'as BullMQ\'s figure includes its add() round trip). ' +
    '**µs/job**: CPU time a job of the service process, and of the PostgreSQL and Redis server processes, over the round (from /proc); ' +
    '**machine busy %**: of all cores over the round. ' +
    '**BullMQ reference**: the same measurements of BullMQ in the same run (bench/lib/bullmq-reference.js: one fresh process holding a Queue and a ' +
    'Worker of concurrency 64; 64 concurrent `queue.add` loops, or `queue.addBulk` of 1,000 with 4 calls in flight; pickup = add() called -> handler entered). ' +
    '**graphile-worker reference**: the same with graphile-worker, the peer with PostgreSQL as its store, on a fresh database of its own ' +
    '(bench/lib/graphile-reference.js: one fresh process holding the runner, with graphile-worker\'s documented performance configuration ' +
    '`concurrentJobs: 24, maxPoolSize: 25, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0`, and an adder pool of 20 ' +
    'connections; 64 concurrent `addJob` loops, or `addJobs` of 1,000 with 4 calls in flight; jobs/s up to the last job\'s row being deleted, polled every 2 ms after its `job:success` event; ' +
    'pickup = addJob() called -> task entered). Each reference runs after the service measured beside it has stopped. ' +
    '**vs BullMQ**, **vs graphile-worker**: draconic\'s jobs/s over the reference\'s in the same round (fresh with fresh, warm with warm; ' +
    'above 1 is faster), and on the pickup row its p99 over the reference\'s (above 1 is slower).',

  async run(ctx) {
    const rows = [];
    let service = await ctx.startService({ label: `engine-pickup-run${ctx.run}`, env: WORKER_ENV });
    let draconic;
    try {
      draconic = await pickup(service);
    } finally {
      await ctx.stopService(service);
    }
    const bullmqPick = await referencePickup('BullMQ');
    const graphilePick = await referencePickup('graphile-worker');
    rows.push(versus(draconic, { BullMQ: bullmqPick, 'graphile-worker': graphilePick }, 'p99 ms'), bullmqPick, graphilePick);
    // Each throughput case runs twice on one service: the first round is a fresh process (V8 still
    // compiling the hot paths; a fresh process on a database the first round had filled was as slow),
    // the second the same process warm.
    service = await ctx.startService({ label: `engine-e2e-run${ctx.run}`, env: WORKER_ENV });
    const e2e = [];
    try {
      e2e.push(await endToEnd(service, `e2e ${JOBS} noop, POST /jobs x64, ${FRESH}`, JOBS));
      e2e.push(await endToEnd(service, `e2e ${JOBS} noop, POST /jobs x64, ${WARM}`, JOBS));
    } finally {
      await ctx.stopService(service);
    }
    const bullmq = await referenceRounds('BullMQ', JOBS, 'round');
    const graphile = await referenceRounds('graphile-worker', JOBS, 'round');
    rows.push(...e2e.map((row, i) => versus(row, { BullMQ: bullmq[i], 'graphile-worker': graphile[i] }, 'jobs/s')), ...bullmq, ...graphile);
    service = await ctx.startService({ label: `engine-e2e-batch-run${ctx.run}`, env: { ...WORKER_ENV, MAX_BODY_BYTES: '16777216' } });
    const batch = [];
    try {
      batch.push(await endToEndBatch(service, `e2e ${JOBS} noop, POST /jobs/batch of 1,000, ${FRESH}`, JOBS));
      batch.push(await endToEndBatch(service, `e2e ${JOBS} noop, POST /jobs/batch of 1,000, ${WARM}`, JOBS));
    } finally {
      await ctx.stopService(service);
    }
    const bullmqBatch = await referenceRounds('BullMQ', JOBS, 'batch');
    const graphileBatch = await referenceRounds('graphile-worker', JOBS, 'batch');
    rows.push(
      ...batch.map((row, i) => versus(row, { BullMQ: bullmqBatch[i], 'graphile-worker': graphileBatch[i] }, 'jobs/s')),
      ...bullmqBatch,
      ...graphileBatch,
    );
    const dataDir = mkdtempSync(join(tmpdir(), 'draconic-bench-embedded-'));
    const embeddedJobs = Math.min(JOBS, Number(process.env.BENCH_EMBEDDED_JOBS ?? 5000));
    service = await ctx.startService({
      label: `engine-embedded-run${ctx.run}`,
      env: { ...WORKER_ENV, DB_POOL_SIZE: '1', DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dataDir },
      startTimeoutMs: 120_000,
    });
    try {
      rows.push(await endToEnd(service, `embedded: ${embeddedJobs} noop, POST /jobs x64`, embeddedJobs, { embedded: true }));
    } finally {
      await ctx.stopService(service);
      rmSync(dataDir, { recursive: true, force: true });
    }
    return rows;
  },
};
