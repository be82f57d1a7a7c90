// Regenerates the README's screenshot of the dashboard (docs/dashboard.md, "Screenshot").
//
//   npm start                                # in another terminal, or any running service
//   node scripts/screenshot.mjs [out.png]    # default: docs/img/dashboard.png
//
// Reads PORT (default 8000), API_KEY (when the service has keys), CHROMIUM_PATH (default
// /usr/bin/chromium) and SCREENSHOT_SECONDS (how long it submits short jobs, default 30). Opens /ui/
// in Chromium (playwright-core), submits a mix of jobs while the page watches, waits until the
// overview shows them, saves the page as a PNG, then cancels the jobs it left unfinished.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const base = `http://localhost:${process.env.PORT ?? 8000}`;
const key = process.env.API_KEY;
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const out = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'img', 'dashboard.png'));

async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(key ? { 'x-api-key': key } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

const submit = (job) => api('POST', '/jobs', job);

if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
await api('GET', '/health/live').catch((error) => {
  throw new Error(`no service answers at ${base} (start one with npm start, or set PORT): ${error.message}`);
});

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const leftOver = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  if (key) await context.addInitScript((k) => sessionStorage.setItem('draconic.apiKey', k), key);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${base}/ui/`);
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

  // A job that holds cpu units and memory on a worker, one that waits for it, and a delayed one.
  const hog = await submit({ type: 'noop', priority: 'high', payload: { duration_ms: 120_000 }, resource_requirements: { cpu_units: 4, memory_mb: 1024 } });
  const waiting = await submit({ type: 'report_generation', payload: { report_type: 'daily_summary' }, depends_on: [hog.id] });
  const delayed = await submit({ type: 'send_email', payload: { to: 'ada@example.com', subject: 'How is it going?' }, delay_ms: 3_600_000 });
  leftOver.push(hog.id, waiting.id, delayed.id);

  // Short jobs for SCREENSHOT_SECONDS (default 30), about 13 a second, one in twelve failing, so the throughput
  // chart has something to draw.
  const until = Date.now() + Number(process.env.SCREENSHOT_SECONDS ?? 30) * 1000;
  for (let round = 0; Date.now() < until; round++) {
    const jobs = Array.from({ length: 4 }, (_, i) =>
      (round * 4 + i) % 12 === 5
        ? { type: 'noop', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } }
        : { type: 'noop', payload: { duration_ms: 100 + ((round * 4 + i) % 7) * 90 } },
    );
    await api('POST', '/jobs/batch', { jobs });
    await sleep(300);
  }
  await page.getByRole('meter', { name: 'CPU in use' }).first().waitFor();
  await sleep(2_500); // the overview refetches its counts and workers at most once a second
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  for (const id of leftOver) await api('PATCH', `/jobs/${id}/cancel`).catch(() => undefined);
}
