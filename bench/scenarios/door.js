// The door under pressure: 200 connections flooding the API (memory, /health latency), and the
// event-loop delay a single heavy request causes.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { percentile } from '../lib/stats.js';

const CONNECTIONS = 200;
const FLOOD_S = Number(process.env.BENCH_FLOOD_S ?? 60);
const HEALTH_EVERY_MS = 250;
const JOB = JSON.stringify({ type: 'noop', payload: { duration_ms: 0 } });

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

/** The service's largest event-loop delay (ms) since the previous scrape: prom-client resets it at each one. */
async function loopLagMaxMs(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = /^draconic_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1];
  return value === undefined ? NaN : Number(value) * 1000;
}

/** Floods with autocannon while probing /health and sampling memory and event-loop delay. */
async function flood(ctx, service, label) {
  const health = [];
  const healthFailures = [];
  const memory = [rssMb(service.pid)];
  const lags = [];
  let flooding = true;
  const prober = (async () => {
    while (flooding) {
      const started = performance.now();
      try {
        const res = await fetch(`${service.url}/health`, { signal: AbortSignal.timeout(5000) });
        await res.text();
        if (res.status === 200) health.push(performance.now() - started);
        else healthFailures.push(`status ${res.status}`);
      } catch (e) {
        healthFailures.push(e.name);
      }
      await sleep(HEALTH_EVERY_MS);
    }
  })();
  const sampler = (async () => {
    await loopLagMaxMs(service.url);
    while (flooding) {
      await sleep(1000);
      memory.push(rssMb(service.pid));
      if (memory.length % 5 === 0) lags.push(await loopLagMaxMs(service.url).catch(() => NaN));
    }
  })();
  ctx.log(`${label}: ${CONNECTIONS} connections for ${FLOOD_S} s`);
  const result = await autocannon({
    url: `${service.url}/jobs`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JOB,
    connections: CONNECTIONS,
    duration: FLOOD_S,
    timeout: 10,
  });
  flooding = false;
  await Promise.all([prober, sampler]);
  const mb = memory.filter((m) => m !== null);
  const half = mb.slice(Math.floor(mb.length / 2));
  const codes = result.statusCodeStats ?? {};
  const warnings = [];
  if (healthFailures.length > 0) warnings.push(`${healthFailures.length} /health probes failed: ${[...new Set(healthFailures)].join(', ')}`);
  if (Object.keys(codes).some((c) => Number(c) >= 500 && c !== '503')) warnings.push(`5xx other than 503: ${JSON.stringify(codes)}`);
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
      'rss start MB': mb[0],
      'rss peak MB': Math.max(...mb),
      'rss end MB': mb.at(-1),
      // Growth over the second half of the flood: near 0 when memory is bounded.
      'rss 2nd-half growth MB': half.length > 1 ? half.at(-1) - half[0] : NaN,
      'loop lag max ms': Math.max(...lags.filter(Number.isFinite)),
    },
    warnings,
    raw: { status_codes: codes, health_probes: health.length, memory_mb: mb, loop_lags_ms: lags },
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
    `${HEALTH_EVERY_MS} ms and the service's RSS sampled every second; once with the default door (rate limit per address: most ` +
    'requests get 429) and once with the rate limit off and MAX_SUBMITS_IN_FLIGHT=64 (the surplus gets 503 at once). Then heavy ' +
    "single requests on an idle service: the largest event-loop delay each caused (prom-client's eventloop_lag_max, 10 ms resolution).",

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
    const idle = await ctx.startService({ label: `door-heavy-run${ctx.run}`, env: { RATE_LIMIT_MAX: '0' } });
    try {
      rows.push(...(await heavyRequests(ctx, idle)));
    } finally {
      await ctx.stopService(idle);
    }
    return rows;
  },
};
