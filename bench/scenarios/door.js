// The door under pressure: 200 connections flooding the API (memory, /health latency, event-loop delay),
// and the event-loop delay a single heavy request causes.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { cpuSnapshot } from '../lib/cpu.js';
import { percentile } from '../lib/stats.js';

const CONNECTIONS = 200;
const FLOOD_S = Number(process.env.BENCH_FLOOD_S ?? 60);
const HEALTH_EVERY_MS = 250;
const JOB = JSON.stringify({ type: 'noop', payload: { duration_ms: 0 } });
/** prom-client samples the event loop every 10 ms: each of its figures includes those 10 ms. */
const LOOP_RESOLUTION_MS = 10;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process in MB (Linux), or null. */
function rssMb(pid) {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** The service's event-loop delay since the previous scrape (prom-client resets it at each one): max and p99, ms. */
async function loopLag(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name) => {
    const value = new RegExp(`^draconic_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1];
    return value === undefined ? NaN : Number(value) * 1000;
  };
  return { max: read('max'), p99: read('p99') };
}

const loopLagMaxMs = async (url) => (await loopLag(url)).max;

/**
 * Probes GET /health every HEALTH_EVERY_MS from a worker thread: its own event loop, so the time measured
 * is the service's and not the wait behind autocannon's 200 connections in this thread.
 */
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let flooding = true;
parentPort.on('message', () => (flooding = false));
(async () => {
  const health = [];
  const failures = [];
  while (flooding) {
    const started = performance.now();
    try {
      const res = await fetch(workerData.url + '/health', { signal: AbortSignal.timeout(5000) });
      await res.text();
      if (res.status === 200) health.push(performance.now() - started);
      else failures.push('status ' + res.status);
    } catch (e) {
      failures.push(e.name);
    }
    await sleep(workerData.everyMs);
  }
  parentPort.postMessage({ health, failures });
})();
`;

function startProber(url) {
  const worker = new Worker(PROBER, { eval: true, workerData: { url, everyMs: HEALTH_EVERY_MS } });
  const done = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const result = await done;
      await worker.terminate();
      return result;
    },
  };
}

/** Floods with autocannon while probing /health and sampling memory, CPU and event-loop delay. */
async function flood(ctx, service, label) {
  const sameThread = []; // /health probed from this thread, beside autocannon: what the bench measured before
  const memory = [rssMb(service.pid)];
  const lags = [];
  let flooding = true;
  const prober = startProber(service.url);
  const benchLoop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  benchLoop.enable();
  const sameThreadProber = (async () => {
    while (flooding) {
      const started = performance.now();
      try {
        const res = await fetch(`${service.url}/health`, { signal: AbortSignal.timeout(5000) });
        await res.text();
        if (res.status === 200) sameThread.push(performance.now() - started);
      } catch {
        // counted by the worker's prober
      }
      await sleep(HEALTH_EVERY_MS);
    }
  })();
  const sampler = (async () => {
    await loopLag(service.url);
    while (flooding) {
      await sleep(1000);
      memory.push(rssMb(service.pid));
      if (memory.length % 5 === 0) lags.push(await loopLag(service.url).catch(() => ({ max: NaN, p99: NaN })));
    }
  })();
  const loadBefore = loadavg()[0];
  const cpuBefore = cpuSnapshot(service.pid);
  const startedAt = performance.now();
  ctx.log(`${label}: ${CONNECTIONS} connections for ${FLOOD_S} s (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  const result = await autocannon({
    url: `${service.url}/jobs`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JOB,
    connections: CONNECTIONS,
    duration: FLOOD_S,
    timeout: 10,
  });
  const elapsedMs = performance.now() - startedAt;
  const cpuAfter = cpuSnapshot(service.pid);
  flooding = false;
  const [{ health, failures: healthFailures }] = await Promise.all([prober.stop(), sameThreadProber, sampler]);
  benchLoop.disable();
  const mb = memory.filter((m) => m !== null);
  const half = mb.slice(Math.floor(mb.length / 2));
  const codes = result.statusCodeStats ?? {};
  const serviceCpuPct = cpuBefore?.service != null && cpuAfter?.service != null ? (100 * (cpuAfter.service - cpuBefore.service)) / elapsedMs : NaN;
  const machine = cpuBefore && cpuAfter ? cpuAfter.machine.total - cpuBefore.machine.total : 0;
  const warnings = [];
  if (healthFailures.length > 0) warnings.push(`${healthFailures.length} /health probes failed: ${[...new Set(healthFailures)].join(', ')}`);
  if (Object.keys(codes).some((c) => Number(c) >= 500 && c !== '503')) warnings.push(`5xx other than 503: ${JSON.stringify(codes)}`);
  const finite = (values) => values.filter(Number.isFinite);
  return {
    label,
    metrics: {
      'req/s': result.requests.average,
      '2xx': codes['201']?.count ?? 0,
      '429': codes['429']?.count ?? 0,
      '503': codes['503']?.count ?? 0,
      errors: result.errors,
      'health p50 ms': percentile(health, 50),
      'health p99 ms': percentile(health, 99),
      'health max ms': Math.max(...health),
      'health > 100 ms': health.filter((ms) => ms > 100).length,
      'health p99 ms, beside autocannon': percentile(sameThread, 99),
      'rss start MB': mb[0],
      'rss peak MB': Math.max(...mb),
      'rss end MB': mb.at(-1),
      // Growth over the second half of the flood: near 0 when memory is bounded.
      'rss 2nd-half growth MB': half.length > 1 ? half.at(-1) - half[0] : NaN,
      // Each 5 s window's p99 and max, as prom-client reports them (10 ms sampling interval included).
      'loop delay p99 ms': Math.max(...finite(lags.map((l) => l.p99))),
      'loop lag max ms': Math.max(...finite(lags.map((l) => l.max))),
      'bench loop delay p99 ms': benchLoop.percentile(99) / 1e6,
      'service CPU %': serviceCpuPct,
      'machine busy %': machine > 0 ? (100 * (cpuAfter.machine.busy - cpuBefore.machine.busy)) / machine : NaN,
      'load avg 1 min': (loadBefore + loadavg()[0]) / 2,
    },
    warnings,
    raw: {
      status_codes: codes,
      health_probes: health.length,
      health_probes_beside_autocannon: sameThread.length,
      memory_mb: mb,
      loop_lags_ms: lags,
      load_average: { before: loadBefore, after: loadavg() },
    },
  };
}

/** Heavy single requests, each on an otherwise idle service: the largest event-loop delay each caused. */
const HEAVY = [
  // Blocked behind a long job, so that none of them runs while the next cases are measured.
  ['POST /jobs/batch, 10,000 jobs', '/jobs/batch', (blocker) => JSON.stringify({ jobs: Array.from({ length: 10_000 }, (_, i) => ({ type: 'noop', payload: { echo: { i } }, depends_on: [blocker] })) })],
  ['POST /jobs/batch, 100,000 empty items (refused)', '/jobs/batch', () => JSON.stringify({ jobs: Array.from({ length: 100_000 }, () => ({})) })],
  ['POST /jobs, payload with a 100,000-element array', '/jobs', () => JSON.stringify({ type: 'noop', payload: { echo: { list: Array.from({ length: 100_000 }, (_, i) => i) } } })],
  ['POST /jobs, payload nested 10,000 deep (refused)', '/jobs', () => `{"type":"noop","payload":{"echo":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}}`],
  ['GET /jobs?limit=200', '/jobs?limit=200', () => null],
];

async function heavyRequests(ctx, service) {
  const rows = [];
  const blocker = await (
    await fetch(`${service.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'noop', payload: { duration_ms: 3_600_000 } }) })
  ).json();
  for (const [label, path, body] of HEAVY) {
    const text = body(blocker.id);
    await sleep(1500); // let the scheduler settle what the previous case started
    await loopLagMaxMs(service.url);
    const started = performance.now();
    const res = await fetch(`${service.url}${path}`, text === null ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    await res.text();
    const ms = performance.now() - started;
    await sleep(300);
    const lag = await loopLagMaxMs(service.url);
    ctx.log(`${label}: ${res.status} in ${ms.toFixed(0)} ms, event-loop delay max ${lag.toFixed(1)} ms`);
    rows.push({
      label: `heavy: ${label}`,
      metrics: { status: res.status, 'response ms': ms, 'body KiB': text === null ? 0 : text.length / 1024, 'loop lag max ms': lag },
      warnings: res.status >= 500 ? [`answered ${res.status}`] : [],
    });
  }
  return rows;
}

export default {
  name: 'door',
  description:
    `Floods: ${CONNECTIONS} autocannon connections send POST /jobs (noop) for ${FLOOD_S} s (BENCH_FLOOD_S) while /health is probed every ` +
    `${HEALTH_EVERY_MS} ms from a worker thread (and, for comparison, from the thread autocannon runs in) and the service's RSS sampled ` +
    'every second; once with the default door (rate limit per address: most requests get 429) and once with the rate limit off and ' +
    'MAX_SUBMITS_IN_FLIGHT=64 (the surplus gets 503 at once). The service\'s event-loop delay is prom-client\'s (p99 and max of each 5 s ' +
    'window, 10 ms sampling interval included). Then (unless BENCH_DOOR_HEAVY=0) heavy single requests on an idle service: the largest ' +
    'event-loop delay each caused.',

  async run(ctx) {
    const rows = [];
    const limited = await ctx.startService({ label: `door-limited-run${ctx.run}`, env: { RATE_LIMIT_MAX: '1000' } });
    try {
      rows.push(await flood(ctx, limited, 'flood, rate limit 1000 per 10 s (default)'));
    } finally {
      await ctx.stopService(limited);
    }
    const bounded = await ctx.startService({ label: `door-bounded-run${ctx.run}`, env: { RATE_LIMIT_MAX: '0', MAX_SUBMITS_IN_FLIGHT: '64' } });
    try {
      rows.push(await flood(ctx, bounded, 'flood, no rate limit, MAX_SUBMITS_IN_FLIGHT=64'));
    } finally {
      await ctx.stopService(bounded);
    }
    if (process.env.BENCH_DOOR_HEAVY === '0') return rows;
    const idle = await ctx.startService({ label: `door-heavy-run${ctx.run}`, env: { RATE_LIMIT_MAX: '0' } });
    try {
      rows.push(...(await heavyRequests(ctx, idle)));
    } finally {
      await ctx.stopService(idle);
    }
    return rows;
  },
};
