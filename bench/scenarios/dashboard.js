// What the dashboard costs a browser (docs/dashboard.md): the JavaScript of a first load of /ui/, the
// overview's longest main-thread task while 2,000 job events a second flow, and the time a job page takes
// to draw a 1,000-node dependency graph. Measured in Debian's Chromium driven by playwright-core, against
// a fresh `ROLE=all` service.
import { existsSync } from 'node:fs';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { eventFeed, postJson, sleep } from '../lib/events.js';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const EVENTS_PER_S = Number(process.env.BENCH_UI_EVENTS_PER_S ?? 2_000);
const DAG_NODES = 1_000;
const TARGETS = { jsKb: 300, longTaskMs: 50, dagMs: 1_000 };

/**
 * In every page, before its own scripts: the long tasks (PerformanceObserver, Chromium reports tasks over
 * 50 ms) and the longest gap between two animation frames (which also shows blocking under 50 ms).
 */
function instrument() {
  const bench = { tasks: [], maxFrameGap: 0, lastFrame: 0, from: 0 };
  globalThis.__bench = bench;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.tasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
  const frame = (t) => {
    if (bench.lastFrame && bench.lastFrame >= bench.from) bench.maxFrameGap = Math.max(bench.maxFrameGap, t - bench.lastFrame);
    bench.lastFrame = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** Starts the measured window in the page (what came before, such as the load, is left out). */
const startWindow = (page) => page.evaluate(() => {
  const bench = globalThis.__bench;
  bench.from = performance.now();
  bench.maxFrameGap = 0;
  return bench.from;
});

const readWindow = (page) =>
  page.evaluate(() => {
    const bench = globalThis.__bench;
    const tasks = bench.tasks.filter((t) => t.start >= bench.from);
    return { longest: tasks.reduce((m, t) => Math.max(m, t.duration), 0), count: tasks.length, maxFrameGap: bench.maxFrameGap };
  });

async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(instrument);
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

/** Every script a first load of /ui/ fetches, with its size raw, gzipped (level 6, as servers do) and brotli'd (static, quality 11). */
async function firstLoad(browser, service) {
  const { context, page, errors } = await newPage(browser);
  const scripts = [];
  page.on('response', (response) => {
    if (response.request().resourceType() === 'script') scripts.push(response.body().then((body) => ({ url: response.url(), body })));
  });
  try {
    await page.goto(`${service.url}/ui/`, { waitUntil: 'networkidle' });
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    const bodies = await Promise.all(scripts);
    const sum = (f) => bodies.reduce((n, s) => n + f(s.body), 0) / 1024;
    return {
      label: 'first load of /ui/: JavaScript',
      metrics: {
        files: bodies.length,
        'KB raw': sum((b) => b.length),
        'KB gzip': sum((b) => gzipSync(b, { level: 6 }).length),
        'KB brotli': sum((b) => brotliCompressSync(b, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }).length),
        'target KB gzip': TARGETS.jsKb,
      },
      warnings: errors.map((e) => `page error: ${e}`),
      raw: { files: bodies.map((s) => ({ url: s.url, bytes: s.body.length })) },
    };
  } finally {
    await context.close();
  }
}

/**
 * Noop jobs submitted in batches every 100 ms, sized so that their events (created, ready, started,
 * completed: counted on the service's event channel beforehand) come to EVENTS_PER_S.
 */
async function eventsPerJob(service, feed) {
  let events = 0;
  const off = feed.on(() => events++);
  const jobs = 200;
  let completed = 0;
  const offDone = feed.on((e) => e.event === 'job_completed' && completed++);
  await postJson(service, '/jobs/batch', { jobs: Array.from({ length: jobs }, () => ({ type: 'noop' })) });
  const deadline = Date.now() + 30_000;
  while (completed < jobs && Date.now() < deadline) await sleep(50);
  await sleep(300);
  off();
  offDone();
  return events / jobs;
}

function flood(service, jobsPerTick) {
  let stop = false;
  let submitted = 0;
  const errors = [];
  const loop = (async () => {
    let next = performance.now();
    while (!stop) {
      next += 100;
      postJson(service, '/jobs/batch', { jobs: Array.from({ length: jobsPerTick }, () => ({ type: 'noop' })) }).then(
        () => (submitted += jobsPerTick),
        (e) => errors.length < 5 && errors.push(e.message),
      );
      await sleep(Math.max(0, next - performance.now()));
    }
  })();
  return {
    async end() {
      stop = true;
      await loop;
      return { submitted, errors };
    },
  };
}

async function overviewUnderEvents(browser, service, ctx) {
  const feed = await eventFeed(service);
  const perJob = await eventsPerJob(service, feed);
  const jobsPerTick = Math.max(1, Math.round(EVENTS_PER_S / perJob / 10));
  ctx.log(`${perJob.toFixed(2)} events a noop job: ${jobsPerTick} jobs every 100 ms for ${EVENTS_PER_S} events/s`);
  const { context, page, errors } = await newPage(browser);
  let events = 0;
  const off = feed.on(() => events++);
  const load = flood(service, jobsPerTick);
  try {
    // A fresh service takes a few seconds to reach its warm rate: the page opens once the events flow at the rate.
    const warmDeadline = Date.now() + 30_000;
    let lastRate = 0;
    while (Date.now() < warmDeadline) {
      const before = events;
      await sleep(1_000);
      lastRate = events - before;
      if (lastRate >= EVENTS_PER_S * 0.95) break;
    }
    ctx.log(`events flowing at ${lastRate}/s; opening the overview`);
    await page.goto(`${service.url}/ui/`);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await sleep(ctx.warmupS * 1000);
    await startWindow(page);
    const counted = events;
    const t0 = performance.now();
    await sleep(ctx.durationS * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const window = await readWindow(page);
    const rate = (events - counted) / seconds;
    const shown = await page.locator('.throughput-plot').getAttribute('aria-label');
    const { errors: submitErrors } = await load.end();
    const warnings = [...errors.map((e) => `page error: ${e}`), ...submitErrors.map((e) => `submit: ${e}`)];
    if (rate < EVENTS_PER_S * 0.9) warnings.push(`only ${rate.toFixed(0)} events/s flowed (wanted ${EVENTS_PER_S})`);
    return {
      label: `overview, ${EVENTS_PER_S.toLocaleString('en')} job events/s`,
      metrics: {
        'events/s': rate,
        'longest task ms': window.longest,
        'tasks > 50 ms': window.count,
        'max frame gap ms': window.maxFrameGap,
        'target ms': TARGETS.longTaskMs,
      },
      warnings,
      raw: { perJob, jobsPerTick, chart: shown },
    };
  } finally {
    await load.end();
    // The engine's backlog drains before the next measurement: quiet for a second.
    for (let quiet = 0, deadline = Date.now() + 60_000; quiet < 2 && Date.now() < deadline; ) {
      const before = events;
      await sleep(500);
      quiet = events === before ? quiet + 1 : 0;
    }
    off();
    feed.close();
    await context.close();
  }
}

/** A layered DAG of DAG_NODES jobs (each depends on two of the layer before) ending in one sink, whose page draws all of them. */
function layeredDag(nodes) {
  const width = 111;
  const layers = Math.floor((nodes - 1) / width);
  const jobs = [];
  for (let layer = 0; layer < layers; layer++) {
    for (let i = 0; i < width; i++) {
      const depends_on = layer === 0 ? undefined : [`n${layer - 1}_${i}`, `n${layer - 1}_${(i + 1) % width}`];
      jobs.push({ ref: `n${layer}_${i}`, type: 'noop', ...(depends_on ? { depends_on } : {}) });
    }
  }
  while (jobs.length < nodes - 1) jobs.push({ ref: `extra${jobs.length}`, type: 'noop' });
  jobs.push({ ref: 'sink', type: 'noop', depends_on: jobs.slice(-width).map((j) => j.ref) });
  return jobs;
}

async function bigGraph(browser, service) {
  // Paused, so the graph holds still while it is drawn: this measures the drawing, not the engine.
  const res = await fetch(`${service.url}/queues/noop`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paused: true }) });
  if (res.status !== 200) throw new Error(`PATCH /queues/noop answered ${res.status}`);
  const { items } = await postJson(service, '/jobs/batch', { jobs: layeredDag(DAG_NODES) });
  const sink = items[items.length - 1].id;
  const graph = await (await fetch(`${service.url}/jobs/${sink}/graph`)).json();
  if (graph.nodes.length !== DAG_NODES) throw new Error(`the graph has ${graph.nodes.length} nodes, not ${DAG_NODES}`);
  // One load of the dashboard first, so the figure is the page's drawing, not the first download.
  const { context, page, errors } = await newPage(browser);
  try {
    await page.goto(`${service.url}/ui/jobs`);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await startWindow(page);
    // An in-app navigation, as a user clicking a job gets: the REST reads, the layout, React Flow's render.
    const started = await page.evaluate((id) => {
      const at = performance.now();
      history.pushState(null, '', `/ui/jobs/${id}`);
      dispatchEvent(new PopStateEvent('popstate'));
      return at;
    }, sink);
    const drawn = await page.waitForFunction(
      (n) => {
        const graph = document.querySelector('.graph');
        if (!graph || !graph.getAttribute('aria-label')?.includes(`${n} jobs`)) return false;
        const node = graph.querySelector('.react-flow__node');
        return node && getComputedStyle(node).visibility === 'visible' ? performance.now() : false;
      },
      DAG_NODES,
      { polling: 'raf', timeout: 60_000 },
    );
    const renderMs = (await drawn.jsonValue()) - started;
    // Let the frame paint, then read the long tasks of the whole drawing.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const window = await readWindow(page);
    const nodesInDom = await page.locator('.graph [data-node-id]').count();
    // Where the time went: the graph's REST answer (resource timing) and the layout (the page's "graph layout" measure).
    const steps = await page.evaluate((from) => {
      const fetched = performance.getEntriesByType('resource').filter((e) => /\/graph$/.test(e.name)).at(-1);
      const layout = performance.getEntriesByName('graph layout').at(-1);
      return {
        graphAnswered: fetched ? fetched.responseEnd - from : null,
        layoutStarted: layout ? layout.startTime - from : null,
        layoutMs: layout ? layout.duration : null,
      };
    }, started);
    const layoutDone = steps.layoutStarted === null ? null : steps.layoutStarted + steps.layoutMs;
    return {
      label: `job page, ${DAG_NODES.toLocaleString('en')}-node DAG`,
      metrics: {
        'render ms': renderMs,
        'graph answered at ms': steps.graphAnswered,
        'layout ms': steps.layoutMs,
        'drawn after layout ms': layoutDone === null ? null : renderMs - layoutDone,
        'longest task ms': window.longest,
        'tasks > 50 ms': window.count,
        'nodes in DOM': nodesInDom,
        'target ms': TARGETS.dagMs,
      },
      warnings: errors.map((e) => `page error: ${e}`),
      raw: { edges: graph.edges.length },
    };
  } finally {
    await context.close();
  }
}

/** BENCH_UI_PARTS picks the measurements (comma-separated: first-load, overview, dag; default all three). */
const ALL_PARTS = { 'first-load': firstLoad, overview: overviewUnderEvents, dag: bigGraph };
const PARTS = (process.env.BENCH_UI_PARTS ?? Object.keys(ALL_PARTS).join(',')).split(',').map((name) => {
  const part = ALL_PARTS[name.trim()];
  if (!part) throw new Error(`BENCH_UI_PARTS: unknown part "${name}" (known: ${Object.keys(ALL_PARTS).join(', ')})`);
  return part;
});

export default {
  name: 'dashboard',
  description:
    `The dashboard in Chromium (playwright-core, ${CHROMIUM_PATH}) against one ROLE=all service. First load of /ui/: the JavaScript it fetches, ` +
    `raw and compressed (target ≤ ${TARGETS.jsKb} KB gzip). The overview with ${EVENTS_PER_S.toLocaleString('en')} job events/s flowing (noop jobs in batches every ` +
    `100 ms; events counted on the service's channel): the longest main-thread task over the window (PerformanceObserver "longtask", ` +
    `which reports tasks over 50 ms: 0 = none; target ≤ ${TARGETS.longTaskMs} ms) and the longest gap between animation frames. A job page ` +
    `opened in the app for the sink of a ${DAG_NODES.toLocaleString('en')}-job layered DAG (noop queue paused): from the navigation to React Flow ` +
    `showing the laid-out graph (target ≤ ${TARGETS.dagMs} ms).`,
  async run(ctx) {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    const service = await ctx.startService({ env: { MAX_CONCURRENT_JOBS: '200', MAX_CPU_UNITS: '200', MAX_MEMORY_MB: '1000000' } });
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true });
    try {
      const rows = [];
      for (const measure of PARTS) {
        const row = await measure(browser, service, ctx);
        ctx.log(`${row.label}: ${JSON.stringify(row.metrics)}`);
        rows.push(row);
      }
      return rows;
    } finally {
      await browser.close();
      await ctx.stopService(service);
    }
  },
};
