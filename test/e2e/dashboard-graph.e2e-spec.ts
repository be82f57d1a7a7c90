/**
 * A large dependency graph on a job's page, in a real Chromium against a real service: laid out in
 * a worker (a same-origin module file the CSP allows), then drawn with every job's status, opened on
 * the current job with only the jobs in view in the page, each node opening its job.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BrowserPages, screenshot } from '../support/browser.js';
import { createTestSpace, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;
let browser: BrowserPages;

beforeAll(async () => {
  [app, browser] = await Promise.all([createTestSpace('ui_graph').then((space) => startTestApp(space)), BrowserPages.launch()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('a large dependency graph', () => {
  it('is laid out off the main thread and drawn, with no console error', async () => {
    // Paused, so every job stays blocked or ready while the page is looked at.
    expect((await app.patch('/queues/noop', { paused: true })).status).toBe(200);
    const width = 30;
    const jobs: Array<Record<string, unknown>> = [];
    for (let layer = 0; layer < 10; layer++) {
      for (let i = 0; i < width; i++) {
        jobs.push({ ref: `n${layer}_${i}`, type: 'noop', ...(layer ? { depends_on: [`n${layer - 1}_${i}`, `n${layer - 1}_${(i + 1) % width}`] } : {}) });
      }
    }
    jobs.push({ ref: 'sink', type: 'noop', depends_on: jobs.slice(-width).map((j) => j.ref) });
    const batch = await app.post('/jobs/batch', { jobs });
    expect(batch.status).toBe(201);
    const sink = (batch.body.items as Array<{ id: string }>).at(-1)!.id;

    const { page, problems } = await browser.newPage({ timeoutMs: 60_000 });
    const workers: string[] = [];
    page.on('worker', (worker) => workers.push(worker.url()));
    await page.goto(`${app.baseUrl}/ui/jobs/${sink}`);
    const graph = page.getByRole('group', { name: `Dependency graph: ${jobs.length} jobs, dependencies on the left` });
    await graph.locator('[data-node-id]').first().waitFor();
    expect(workers).toEqual([expect.stringMatching(/\/ui\/assets\/graph\.worker-[\w-]+\.js$/)]);
    expect(await graph.locator('[data-status="blocked"]').count()).toBeGreaterThan(0);
    const lastLayer = (batch.body.items as Array<{ id: string }>).slice(-1 - width, -1).map((j) => j.id);
    // It opens on this job and its nearest neighbours, and only the jobs in view are in the page.
    await graph.locator(`[data-node-id="${sink}"]`).waitFor();
    expect(await graph.locator(`[data-node-id="${sink}"]`).isVisible()).toBe(true);
    const drawn = await graph.locator('[data-node-id]').count();
    expect(drawn).toBeLessThan(jobs.length);
    await screenshot(page, 'job-large-graph');
    // Every edge between jobs in view is drawn: the sink's dependencies in view each have their edge to it.
    const shownDependencies = (await graph.locator('[data-node-id]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-node-id')))).filter((id) =>
      lastLayer.includes(id!),
    );
    expect(shownDependencies.length).toBeGreaterThan(0);
    for (const id of shownDependencies) expect(await graph.locator(`.react-flow__edge[data-id="${id}->${sink}"]`).count()).toBe(1);
    // A dependency's node in view opens its job's page.
    const area = (await graph.boundingBox())!;
    let dependencyId: string | undefined;
    for (const id of lastLayer) {
      const node = graph.locator(`[data-node-id="${id}"]`);
      if ((await node.count()) === 0) continue; // not in view, so not in the page
      const box = await node.boundingBox();
      if (box && box.x >= area.x && box.y >= area.y && box.x + box.width <= area.x + area.width && box.y + box.height <= area.y + area.height) {
        dependencyId = id;
        break;
      }
    }
    expect(dependencyId).toBeDefined();
    await graph.locator(`[data-node-id="${dependencyId}"] a`).click();
    await page.waitForURL(`**/ui/jobs/${dependencyId}`);
    expect(problems).toEqual([]);
    expect((await app.patch('/queues/noop', { paused: false })).status).toBe(200);
  }, 120_000);

  it('says the graph could not be shown, and keeps the rest of the job page, when its code is gone', async () => {
    const batch = await app.post('/jobs/batch', { jobs: [{ ref: 'first', type: 'noop' }, { ref: 'second', type: 'noop', depends_on: ['first'] }] });
    expect(batch.status).toBe(201);
    const second = (batch.body.items as Array<{ id: string }>)[1]!.id;
    // As after a deploy: the page's script names a graph chunk the server no longer has.
    const { page } = await browser.newPage({ timeoutMs: 60_000 });
    await page.route(/\/ui\/assets\/GraphView-[\w-]+\.js$/, (route) => route.fulfill({ status: 404, body: 'gone' }));
    await page.goto(`${app.baseUrl}/ui/jobs/${second}`);
    const message = page.getByTestId('render-error');
    await message.waitFor();
    expect(await message.textContent()).toMatch(/The dependency graph could not be shown: part of the dashboard did not load/);
    expect(await page.getByRole('button', { name: 'Reload the page' }).isVisible()).toBe(true);
    // The job's own fields are still there.
    expect(await page.getByRole('heading', { name: 'Fields' }).isVisible()).toBe(true);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toMatch(/second/);
  }, 120_000);
});
