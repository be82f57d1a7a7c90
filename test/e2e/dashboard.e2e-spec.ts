/**
 * The dashboard in a real Chromium against a real service (PostgreSQL, Redis): what an operator
 * sees and does. Few tests, each waiting for what the page shows, never for a fixed time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { BrowserPages, screenshot, seriousViolations } from '../support/browser.js';
import { JobLifecycleService } from '../../src/jobs/job-lifecycle.service.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

const SLOW = { timeout: 45_000 };
const KEY = 'dashboard-key-0123456789';

let app: TestApp;
let secured: TestApp;
let browser: BrowserPages;

beforeAll(async () => {
  [app, secured, browser] = await Promise.all([
    createTestSpace('ui_open').then((space) => startTestApp(space, { MAX_CPU_UNITS: '8', MAX_CONCURRENT_JOBS: '4' })),
    createTestSpace('ui_keys').then((space) => startTestApp(space, { API_KEYS: `ops:${KEY}:admin` })),
    BrowserPages.launch(),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([app?.close(), secured?.close()]);
});

/** A page whose console errors and failed requests are kept (the CSP refusing anything would show there). */
async function open(target: TestApp, path: string, scheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; problems: string[] }> {
  // The overview asks for GET /queues, which an older service answers 404: that one is expected.
  return browser.open(`${target.baseUrl}${path}`, { scheme, expected: /404/, timeoutMs: SLOW.timeout });
}

const liveBadge = (page: Page) => page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

describe('the dashboard', () => {
  let hog: string;

  it('is served at /ui/ as same-origin files only, and / leads there', async () => {
    const root = await app.get('/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    const html = await app.get('/ui/');
    expect(html.status).toBe(200);
    expect(String(html.headers['content-type'])).toMatch(/text\/html/);
    const body = String(html.body);
    const scripts = [...body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/ui\/assets\/[^"]+\.js"/);
      expect(content!.trim()).toBe('');
    }
    // A deep link loads the same page; an asset that does not exist is a 404, not the page.
    expect((await app.get('/ui/jobs/01a23dc0-c274-7755-9da4-18195e167557')).body).toBe(body);
    expect((await app.get('/ui/assets/missing.js')).status).toBe(404);
  });

  it('answers a range or a precondition a dashboard file cannot meet with its 4xx and a code, never a 500', async () => {
    const html = String((await app.get('/ui/')).body);
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const cases: Array<[string, Record<string, string>, number, string | null]> = [
      ['GET', { range: 'bytes=999999999-' }, 416, 'RANGE_NOT_SATISFIABLE'],
      ['HEAD', { range: 'bytes=999999999-' }, 416, null],
      ['GET', { 'if-match': '"nope"' }, 412, 'PRECONDITION_FAILED'],
      ['GET', { 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }, 412, 'PRECONDITION_FAILED'],
    ];
    for (const [method, headers, status, code] of cases) {
      const response = await fetch(`${app.baseUrl}${asset}`, { method, headers });
      const text = await response.text();
      expect([method, headers, response.status]).toEqual([method, headers, status]);
      if (code) expect(JSON.parse(text).code).toBe(code);
      if (status === 416) expect(response.headers.get('content-range')).toMatch(/^bytes \*\/\d+$/);
    }
    expect((await fetch(`${app.baseUrl}${asset}`, { headers: { range: 'bytes=0-9' } })).status).toBe(206);
  });

  it('shows a registered worker with its slot, cpu and memory bars and the job it runs', async () => {
    hog = (await app.submit({ type: 'noop', payload: { duration_ms: 120_000 }, resource_requirements: { cpu_units: 6, memory_mb: 1024 } })).id;
    await expectEventually(async () => expect((await app.getJob(hog)).status).toBe('running'), { timeoutMs: 30_000 });
    const { page, problems } = await open(app, '/ui/');
    await liveBadge(page);
    const cpu = page.getByRole('meter', { name: 'CPU in use' });
    await expect(cpu.getAttribute('aria-valuenow')).resolves.toBe('6');
    await expectEventually(async () => expect(await page.getByText('6 units of 8 units').count()).toBe(1), { timeoutMs: 30_000 });
    expect(await page.getByRole('meter', { name: 'Slots in use' }).getAttribute('aria-valuetext')).toBe('1 of 4');
    expect(await page.getByRole('meter', { name: 'Memory in use' }).getAttribute('aria-valuetext')).toBe('1024 MB of 4096 MB');
    await page.locator(`a[href="/ui/jobs/${hog}"]`).waitFor();
    await page.getByTestId('count-running').filter({ hasText: '1' }).waitFor();
    await screenshot(page, 'overview');
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  }, 120_000);

  it('shows a running job’s progress in its events as it comes', async () => {
    const { page, problems } = await open(app, `/ui/jobs/${hog}`);
    await liveBadge(page);
    await app.app.get(JobLifecycleService).progress(hog, 1, 42);
    await page.getByLabel('Events, oldest first').getByText('Progress 42%').waitFor();
    expect(problems).toEqual([]);
  }, 60_000);

  it('says in words why a job waits for resources, and cancels it from its page', async () => {
    const waiting = (await app.submit({ type: 'noop', resource_requirements: { cpu_units: 4, memory_mb: 256 } })).id;
    await expectEventually(async () => expect((await app.getJob(waiting)).waiting_reason?.code).toBe('INSUFFICIENT_RESOURCES'), { timeoutMs: 30_000 });
    const { page, problems } = await open(app, `/ui/jobs/${waiting}`);
    const reason = page.getByTestId('waiting-reason');
    await reason.waitFor();
    expect(await reason.innerText()).toMatch(/No worker has room for it now \(it needs 4 cpu units and 256 MB of memory\): of 1 worker, 1 worker lacks cpu units/);
    await screenshot(page, 'job-waiting');
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expectEventually(async () => {
      const job = await app.getJob(waiting);
      expect(job.status).toBe('cancelled');
      expect(job.error.code).toBe('CANCELLED_BY_USER');
    });
    await page.getByRole('heading', { level: 1 }).filter({ hasText: 'Cancelled' }).waitFor();
    await page.getByTestId('job-error').filter({ hasText: 'Cancelled by a user' }).waitFor();
    expect(problems).toEqual([]);
    expect((await app.patch(`/jobs/${hog}/cancel`)).status).toBe(200);
  }, 120_000);

  it('counts the runs of a retried job against its new budget', async () => {
    const job = await app.submit({ type: 'noop', payload: { fail_attempts: 2 }, retry_config: { max_attempts: 2, initial_delay_ms: 10 } });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('failed'), { timeoutMs: 30_000 });
    expect((await app.post(`/jobs/${job.id}/retry`, {})).status).toBe(200);
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('completed'), { timeoutMs: 30_000 });
    const { page, problems } = await open(app, `/ui/jobs/${job.id}`);
    await page.getByText('1 of 2 since the last retry (3 runs in all)').waitFor();
    await page.goto(`${app.baseUrl}/ui/jobs?type=noop`);
    const cell = page.locator(`tbody tr[data-job-id="${job.id}"] td.num`);
    await cell.waitFor();
    expect(await cell.innerText()).toBe('1/2');
    expect(problems).toEqual([]);
  }, 90_000);

  it('draws a diamond DAG whose nodes turn completed live, with its logs and events', async () => {
    const batch = await app.post('/jobs/batch', {
      jobs: [
        // The root takes a while, so the page is open before anything completes (a loaded machine may take
        // several seconds to open it).
        { ref: 'fetch', type: 'noop', payload: { duration_ms: 15_000 } },
        { ref: 'left', type: 'noop', depends_on: ['fetch'], payload: { duration_ms: 300 } },
        { ref: 'right', type: 'noop', depends_on: ['fetch'] },
        { ref: 'report', type: 'noop', depends_on: ['left', 'right'] },
      ],
    });
    expect(batch.status).toBe(201);
    const [root, , , sink] = batch.body.items as Array<{ id: string }>;
    const { page, problems } = await open(app, `/ui/jobs/${sink!.id}`, 'dark');
    await liveBadge(page);
    const nodes = page.locator('.graph [data-node-id]');
    await expectEventually(async () => expect(await nodes.count()).toBe(4), { timeoutMs: 30_000 });
    const before = await nodes.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    expect(before.filter((s) => s === 'completed').length).toBeLessThan(4);

    const completed = page.locator('.graph [data-node-id][data-status="completed"]');
    await expectEventually(async () => expect(await completed.count()).toBe(4), { timeoutMs: 60_000, intervalMs: 250 });
    await page.getByRole('heading', { level: 1 }).filter({ hasText: 'Completed' }).waitFor();
    await page.getByLabel('Events, oldest first').getByText('Completed').waitFor();
    await page.getByLabel('Log lines, oldest first').getByText('attempt 1 completed').waitFor();
    await page.getByLabel('Result').waitFor();
    await screenshot(page, 'job-dag');
    expect(await seriousViolations(page)).toEqual([]);

    // A node opens its job's page.
    await page.locator(`.graph [data-node-id="${root!.id}"] a`).click();
    await page.waitForURL(`**/ui/jobs/${root!.id}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: 'fetch' }).waitFor();
    expect(problems).toEqual([]);
  }, 150_000);

  it('lists jobs with filters and pages', async () => {
    const { page, problems } = await open(app, '/ui/jobs?status=completed');
    await page.locator('tbody tr[data-job-id]').first().waitFor();
    const statuses = await page.locator('tbody tr[data-job-id] [data-status]').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(new Set(statuses)).toEqual(new Set(['completed']));
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForURL(/\/ui\/jobs$/);
    await page.locator('tbody tr[data-job-id] [data-status="cancelled"]').first().waitFor();
    await screenshot(page, 'jobs');
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  }, 90_000);

  it('lists the jobs of one concurrency key named in the address, and drops the filter on request', async () => {
    const mine = await Promise.all([app.submit({ type: 'noop', concurrency_key: 'tenant-ui-a' }), app.submit({ type: 'noop', concurrency_key: 'tenant-ui-a' })]);
    await app.submit({ type: 'noop', concurrency_key: 'tenant-ui-b' });
    const { page, problems } = await open(app, '/ui/jobs?concurrency_key=tenant-ui-a');
    await page.getByTestId('link-filters').filter({ hasText: 'concurrency key tenant-ui-a' }).waitFor();
    await expectEventually(async () => {
      const ids = await page.locator('tbody tr[data-job-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job-id')));
      expect(ids.sort()).toEqual(mine.map((j) => j.id).sort());
    });
    await page.getByRole('button', { name: 'Remove the concurrency key filter' }).click();
    await page.waitForURL(/\/ui\/jobs$/);
    expect(await page.getByTestId('link-filters').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 90_000);

  it('shows the code of a refused retry beside its message', async () => {
    const job = await app.submit({ type: 'noop', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('failed'), { timeoutMs: 30_000 });
    const { page, problems } = await browser.open(`${app.baseUrl}/ui/jobs/${job.id}`, { expected: /409/, timeoutMs: SLOW.timeout });
    // The service's refusal as it would come if another client had retried the job first.
    await page.route(`**/jobs/${job.id}/retry`, (route) =>
      route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ statusCode: 409, code: 'JOB_NOT_RETRYABLE', message: 'job is running' }) }),
    );
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('status').filter({ hasText: 'Not retried: job is running (JOB_NOT_RETRYABLE).' }).waitFor();
    expect(problems).toEqual([]);
  }, 90_000);

  it('counts as new only the jobs created since the list was shown that match its filters now', async () => {
    const { page, problems } = await open(app, '/ui/jobs?status=pending');
    await liveBadge(page);
    // Created ready and run at once: never news for a list of pending jobs.
    const quick = await Promise.all(Array.from({ length: 5 }, () => app.submit({ type: 'noop' })));
    // Created pending (a delay): news, until it is no longer pending.
    const later = await app.submit({ type: 'noop', delay_ms: 60_000 });
    const banner = page.getByRole('button', { name: /new jobs?: show/ });
    await banner.filter({ hasText: '1 new job: show' }).waitFor(SLOW);
    await expectEventually(async () => expect(await Promise.all(quick.map(async (j) => (await app.getJob(j.id)).status))).toEqual(quick.map(() => 'completed')));
    expect(await banner.innerText()).toBe('1 new job: show');
    expect((await app.request('PATCH', `/jobs/${later.id}/cancel`)).status).toBe(200);
    await banner.waitFor({ state: 'detached', timeout: SLOW.timeout });
    expect(problems).toEqual([]);
  }, 90_000);
});

describe('the dashboard with API_KEYS set', () => {
  it('asks for the key, keeps it for the tab, sends it on REST and the socket, and asks again when it is refused', async () => {
    const { page } = await open(secured, '/ui/');
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    await screenshot(page, 'key-prompt');
    expect(await seriousViolations(page)).toEqual([]);

    await page.locator('#api-key').fill('not-the-key');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await dialog.getByText('The key was refused.').waitFor();

    await page.locator('#api-key').fill(KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await liveBadge(page);
    await page.getByTestId('count-pending').filter({ hasText: '0' }).waitFor();
    // A function, not a string: the page's CSP refuses eval.
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('draconic.apiKey'))).toBe(KEY);
    // A reload keeps the key: no prompt.
    await page.reload();
    await liveBadge(page);
    expect(await dialog.count()).toBe(0);
  }, 90_000);
});
