/**
 * The dashboard's schedules page in a real Chromium against a real service (PostgreSQL, Redis):
 * create a schedule from the form (its cron in words while typing, its next fire instants after),
 * the service's refusal in words, the list showing it, pause and resume reaching the API, and a
 * trigger creating a job the page links to.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { BrowserPages, screenshot, seriousViolations } from '../support/browser.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

const SLOW = { timeout: 45_000 };

let app: TestApp;
let browser: BrowserPages;

beforeAll(async () => {
  [app, browser] = await Promise.all([createTestSpace('ui_schedules').then((space) => startTestApp(space)), BrowserPages.launch()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function open(path: string): Promise<{ page: Page; problems: string[] }> {
  // The refused POST (the validation case) is logged by the browser as a failed resource: expected.
  return browser.open(`${app.baseUrl}${path}`, { expected: /status of 400/, timeoutMs: SLOW.timeout });
}

const schedule = async (name: string) => (await app.get(`/schedules/${name}`)).body;

describe('the schedules page', () => {
  it('creates, pauses, resumes and triggers a schedule', async () => {
    const { page, problems } = await open('/ui/schedules');
    await page.getByRole('link', { name: 'Schedules' }).and(page.locator('[aria-current="page"]')).waitFor();
    const form = page.getByRole('form', { name: 'New schedule' });
    const words = page.getByTestId('cron-words');
    const notice = page.getByTestId('create-notice');

    await form.getByLabel('Name').fill('nightly-noop');
    await form.getByLabel('Cron').fill('0 9 * * 1-5');
    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await words.filter({ hasText: 'At 09:00, Monday through Friday (Europe/Berlin)' }).waitFor();
    await form.getByLabel('Job type').fill('noop');
    await form.getByLabel('Payload (JSON object)').fill('{"duration_ms": 10}');

    // The service's refusal, in its words.
    await form.getByLabel('Time zone').fill('Mars/Olympus');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await notice.filter({ hasText: /^Not created: .*Mars\/Olympus/ }).waitFor();
    expect((await app.get('/schedules/nightly-noop')).status).toBe(404);

    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await notice.filter({ hasText: 'Created nightly-noop.' }).waitFor();
    await expectEventually(async () => expect(await page.getByTestId('upcoming').locator('li').count()).toBe(5));
    expect(await schedule('nightly-noop')).toMatchObject({ cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', job: { type: 'noop', payload: { duration_ms: 10 } }, paused: false });

    const row = page.locator('tr[data-schedule="nightly-noop"]');
    await row.getByTestId('schedule-words-nightly-noop').filter({ hasText: 'At 09:00, Monday through Friday (Europe/Berlin)' }).waitFor();
    await row.getByTestId('schedule-state-nightly-noop').filter({ hasText: 'Active' }).waitFor();

    await row.getByRole('button', { name: 'Pause nightly-noop' }).click();
    await expectEventually(async () => expect((await schedule('nightly-noop')).paused).toBe(true));
    await row.getByTestId('schedule-state-nightly-noop').filter({ hasText: 'Paused' }).waitFor();
    await row.getByRole('button', { name: 'Resume nightly-noop' }).click();
    await expectEventually(async () => expect((await schedule('nightly-noop')).paused).toBe(false));
    await row.getByTestId('schedule-state-nightly-noop').filter({ hasText: 'Active' }).waitFor();

    await row.getByRole('button', { name: 'Trigger nightly-noop' }).click();
    const jobLink = row.getByTestId('schedule-notice-nightly-noop').getByRole('link');
    await jobLink.waitFor();
    const jobId = (await jobLink.innerText()).trim();
    expect((await app.getJob(jobId)).type).toBe('noop');
    await expectEventually(async () => expect((await schedule('nightly-noop')).fire_count).toBe(1));
    await row.getByTestId('schedule-counts-nightly-noop').filter({ hasText: '1 / 0' }).waitFor();

    // Another client's change reaches the list through schedule_update.
    expect((await app.post('/schedules', { name: 'from-api', cron: '*/5 * * * *', job: { type: 'noop' } })).status).toBe(201);
    await page.getByTestId('schedule-words-from-api').filter({ hasText: 'Every 5 minutes (UTC)' }).waitFor({ timeout: 5_000 });

    await screenshot(page, 'schedules');
    expect(await seriousViolations(page)).toEqual([]);
    await jobLink.click();
    await page.waitForURL(`**/ui/jobs/${jobId}`);
    expect(problems).toEqual([]);
  }, 120_000);

  it('wraps a 200-character name, keeping every row’s actions on screen, and fits a 375 px screen', async () => {
    const name = `long-${'x'.repeat(195)}`;
    expect((await app.post('/schedules', { name, cron: '0 0 1 1 *', job: { type: 'noop' } })).status).toBe(201);
    const { page, problems } = await open('/ui/schedules');
    const trigger = page.getByRole('button', { name: `Trigger ${name}` });
    await trigger.waitFor(SLOW);
    const width = () => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(await width()).toBeLessThanOrEqual(1280);
    const box = await trigger.boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(1280);
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByRole('link', { name: 'API docs' }).waitFor();
    expect(await width()).toBeLessThanOrEqual(375);
    const docs = await page.getByRole('link', { name: 'API docs' }).boundingBox();
    expect(docs!.x + docs!.width).toBeLessThanOrEqual(375);
    expect(problems).toEqual([]);
  }, 120_000);

  it('lists every schedule, past the 100 of one page of GET /schedules', async () => {
    for (let i = 0; i < 110; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => app.post('/schedules', { name: `many-${String(i + j).padStart(3, '0')}`, cron: '0 0 1 1 *', job: { type: 'noop' } })),
      );
    }
    const total = (await app.get('/schedules?limit=100')).body;
    expect(total.next_cursor).not.toBeNull();
    const { page, problems } = await open('/ui/schedules');
    await page.locator('tr[data-schedule="many-109"]').waitFor(SLOW);
    expect(await page.locator('tr[data-schedule^="many-"]').count()).toBe(110);
    expect(await page.getByTestId('schedules-more').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 120_000);
});
