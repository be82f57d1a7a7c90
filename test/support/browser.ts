/**
 * Chromium for the dashboard's browser tests: Debian's package (`apt-get install -y chromium`,
 * which .ci/run does when it is missing), driven by playwright-core. CHROMIUM_PATH overrides the path.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** Where the tests leave a screenshot of every page (git-ignored), for a reviewer to look at. */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-output', 'ui');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** The accessibility violations axe rates serious or critical, as short lines (empty when none). */
export async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

export interface PageOptions {
  scheme?: 'light' | 'dark';
  /** Console errors the test provokes (a refused request is logged as a failed resource): not problems. */
  expected?: RegExp;
  timeoutMs?: number;
}

/** A page and what went wrong in it: page errors and console errors, as lines. */
export interface WatchedPage {
  page: Page;
  problems: string[];
}

/** A spec file's Chromium: pages of 1280x900, each in a context of its own; `close` ends them all. */
export class BrowserPages {
  private readonly contexts: BrowserContext[] = [];

  private constructor(private readonly browser: Browser) {}

  static async launch(): Promise<BrowserPages> {
    return new BrowserPages(await launchChromium());
  }

  /** A new page, not navigated yet (to listen for something first), whose problems are kept. */
  async newPage({ scheme, expected, timeoutMs = 45_000 }: PageOptions = {}): Promise<WatchedPage> {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 900 }, ...(scheme ? { colorScheme: scheme } : {}) });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(timeoutMs);
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !expected?.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    return { page, problems };
  }

  /** A new page at `url` (see newPage). */
  async open(url: string, options?: PageOptions): Promise<WatchedPage> {
    const watched = await this.newPage(options);
    await watched.page.goto(url);
    return watched;
  }

  async close(): Promise<void> {
    for (const context of this.contexts) await context.close().catch(() => undefined);
    await this.browser.close();
  }
}
