/**
 * The dashboard's queues page and the overview's throughput chart in a real Chromium against a real
 * service (PostgreSQL, Redis): pause and resume, limits with the service's own validation messages,
 * the overview naming a paused queue, completions drawn per second from the history and the live events.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { BrowserPages, screenshot, seriousViolations } from '../support/browser.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

const SLOW = { timeout: 45_000 };

let app: TestApp;
let browser: BrowserPages;

beforeAll(async () => {
  [app, browser] = await Promise.all([createTestSpace('ui_queues').then((space) => startTestApp(space)), BrowserPages.launch()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** A page whose console errors and failed requests are kept (the CSP refusing anything would show there). */
async function open(path: string, scheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; problems: string[] }> {
  // A refused PATCH (the validation case) is logged by the browser as a failed resource: expected.
  return browser.open(`${app.baseUrl}${path}`, { scheme, expected: /status of 400/, timeoutMs: SLOW.timeout });
}

const liveBadge = (page: Page) => page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
const queue = async (type: string) => (await app.get(`/queues/${type}`)).body;

describe('the queues page', () => {
  it('pauses a queue and resumes it, and the overview names the paused queue', async () => {
    const { page, problems } = await open('/ui/queues');
    await page.getByRole('link', { name: 'Queues' }).and(page.locator('[aria-current="page"]')).waitFor();
    const card = page.locator('article[data-queue="noop"]');
    await card.getByRole('heading', { name: 'noop' }).waitFor();
    expect(await card.getByTestId('queue-rules-noop').innerText()).toBe('No limits.');

    await card.getByRole('button', { name: 'Pause noop' }).click();
    await expectEventually(async () => expect((await queue('noop')).paused).toBe(true));
    await card.getByTestId('queue-state-noop').filter({ hasText: 'Paused' }).waitFor();
    await card.getByRole('status').filter({ hasText: 'Paused: no new job of this type starts.' }).waitFor();
    // The scheduler honours it: a new noop job waits, and says why.
    const held = (await app.submit({ type: 'noop' })).id;
    await expectEventually(async () => expect((await app.getJob(held)).waiting_reason?.code).toBe('QUEUE_PAUSED'), { timeoutMs: 15_000 });

    const overview = await open('/ui/');
    await overview.page.getByTestId('limited-queues').filter({ hasText: 'noop: paused: no new job starts' }).waitFor();
    await screenshot(overview.page, 'overview-paused-queue');
    expect(overview.problems).toEqual([]);

    await card.getByRole('button', { name: 'Resume noop' }).click();
    await expectEventually(async () => expect((await queue('noop')).paused).toBe(false));
    await card.getByTestId('queue-state-noop').filter({ hasText: 'Accepting' }).waitFor();
    await expectEventually(async () => expect((await app.getJob(held)).status).toBe('completed'), { timeoutMs: 15_000 });
    expect(problems).toEqual([]);
  }, 120_000);

  it("edits a queue's limits, showing the service's refusal in words", async () => {
    const { page, problems } = await open('/ui/queues');
    const card = page.locator('article[data-queue="noop"]');
    await card.getByRole('button', { name: 'Edit limits of noop' }).click();
    const form = card.getByRole('form', { name: 'Limits of noop' });
    const notice = card.getByTestId('limits-notice-noop');

    await form.getByLabel('At most at once', { exact: true }).fill('0');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await notice.filter({ hasText: /^Not saved: .*concurrency_limit must not be less than 1/ }).waitFor();
    expect((await queue('noop')).concurrency_limit).toBeNull();

    await form.getByLabel('At most at once', { exact: true }).fill('3');
    await form.getByLabel('Starts allowed').fill('10');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await notice.filter({ hasText: /^Not saved: .*rate_limit\.interval_ms/ }).waitFor();

    await form.getByLabel('Window (ms)').fill('1000');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await notice.filter({ hasText: 'Saved: at most 3 at once, at most 10 starts a second.' }).waitFor();
    expect(await queue('noop')).toMatchObject({ concurrency_limit: 3, key_concurrency_limit: null, rate_limit: { limit: 10, interval_ms: 1000 } });
    await card.getByTestId('queue-rules-noop').filter({ hasText: 'at most 3 at once; at most 10 starts a second.' }).waitFor();
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await screenshot(page, 'queues');
    expect(await seriousViolations(page)).toEqual([]);

    await form.getByRole('button', { name: 'Clear fields' }).click();
    await form.getByRole('button', { name: 'Save limits' }).click();
    await notice.filter({ hasText: 'Saved: no limits.' }).waitFor();
    expect(await queue('noop')).toMatchObject({ concurrency_limit: null, key_concurrency_limit: null, rate_limit: null });
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('the overview throughput chart', () => {
  it('draws completions per second from the live events', async () => {
    const { page, problems } = await open('/ui/', 'dark');
    await liveBadge(page);
    const chart = page.locator('.throughput-plot');
    await chart.locator('canvas').waitFor();
    const batch = await app.post('/jobs/batch', { jobs: Array.from({ length: 40 }, () => ({ type: 'noop' })) });
    expect(batch.status).toBe(201);
    await expectEventually(
      async () => {
        const label = (await chart.getAttribute('aria-label')) ?? '';
        const peak = Number(/peak (\d+) a second/.exec(label)?.[1] ?? 0);
        expect(peak).toBeGreaterThan(0);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(await chart.getAttribute('aria-label')).toMatch(/^Jobs finished per second over the last 5 minutes: in the last second \d+ completed and 0 failed or timed out; peak \d+ a second; \d+ in all\.$/);
    await screenshot(page, 'overview-throughput');
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  }, 90_000);

  it('starts from the last minutes of history (GET /stats/throughput) when it opens', async () => {
    // The jobs above finished before this page opens: only the history can show them.
    const history = await app.get('/stats/throughput?minutes=5');
    expect(history.status).toBe(200);
    const finished = (history.body.items as Array<{ completed: number; failed: number }>).reduce((sum, b) => sum + b.completed + b.failed, 0);
    expect(finished).toBeGreaterThanOrEqual(40);
    const { page, problems } = await open('/ui/');
    // The words read "last 5 min" while the history loads too: wait until it is shown.
    await page.locator('[data-testid="throughput-span"][data-history="shown"]').filter({ hasText: 'last 5 min' }).waitFor();
    expect(Number(await page.getByTestId('throughput-total').textContent())).toBe(finished);
    expect(await page.locator('.throughput-plot').getAttribute('aria-label')).toMatch(new RegExp(`peak [1-9]\\d* a second; ${finished} in all\\.$`));
    expect(problems).toEqual([]);
  }, 90_000);
});
