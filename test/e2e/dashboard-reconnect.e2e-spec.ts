/**
 * A job's page across a lost connection, in a real Chromium against a real service: the live
 * socket is cut while the job changes, and after the reconnection the service refuses every replay
 * for being busy. The page still shows the job as it is now (it reads the job again on every
 * reconnection), asks for the replay again, and says when events may be missing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WebSocketRoute } from 'playwright-core';
import { BrowserPages } from '../support/browser.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;
let browser: BrowserPages;

beforeAll(async () => {
  [app, browser] = await Promise.all([createTestSpace('ui_reconnect').then((space) => startTestApp(space)), BrowserPages.launch()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

const BUSY = 'this server is answering 4 replays already: replay again in a moment';

describe('a job page after a reconnection', () => {
  it('shows the job as it is now even when every replay is refused, and says events may be missing', async () => {
    const job = await app.submit({ type: 'noop', payload: { duration_ms: 120_000 } });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('running'), { timeoutMs: 30_000 });

    const { page, problems } = await browser.newPage({ timeoutMs: 45_000 });
    // Between the page and the service: the first connection goes silent on request, and on every
    // later one the page's replays are refused as a busy service refuses them.
    const connections: WebSocketRoute[] = [];
    let silent = false;
    let refused = 0;
    await page.routeWebSocket(/\/socket\.io\//, (ws) => {
      const index = connections.push(ws) - 1;
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        const replay = typeof message === 'string' && index > 0 ? /^42\/jobs\/stream,(\d+)\["replay"/.exec(message) : null;
        if (replay) {
          refused += 1;
          ws.send(`43/jobs/stream,${replay[1]}[${JSON.stringify({ ok: false, error: BUSY })}]`);
        } else server.send(message);
      });
      server.onMessage((message) => {
        if (!(silent && index === 0)) ws.send(message);
      });
    });
    await page.goto(`${app.baseUrl}/ui/jobs/${job.id}`);
    const heading = page.getByRole('heading', { level: 1 });
    await heading.filter({ hasText: 'Running' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

    // The job is cancelled while the page hears nothing, then the connection drops.
    silent = true;
    expect((await app.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('cancelled'), { timeoutMs: 30_000 });
    expect(await heading.textContent()).toMatch(/Running/);
    await connections[0]!.close();

    await heading.filter({ hasText: 'Cancelled' }).waitFor();
    // The refused replay is asked for again (1, 2 and 4 s apart), then the page says what it lacks.
    await page.getByTestId('events-missed').filter({ hasText: 'replay again in a moment' }).waitFor();
    // At least the first ask and its three retries (a second reconnection of the socket asks again).
    expect(refused).toBeGreaterThanOrEqual(4);
    expect(problems).toEqual([]);
  }, 120_000);
});
