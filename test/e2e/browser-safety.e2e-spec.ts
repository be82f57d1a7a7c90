import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { createTestSpace, startTestApp, type TestApp } from '../support/test-app.js';

let closed: TestApp;
let open: TestApp;
const sockets: Socket[] = [];
const DASHBOARD = 'https://dash.example.com';

beforeAll(async () => {
  [closed, open] = await Promise.all([
    createTestSpace('browser_closed').then((space) => startTestApp(space)),
    createTestSpace('browser_open').then((space) => startTestApp(space, { CORS_ORIGINS: `${DASHBOARD},http://localhost:5173` })),
  ]);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([closed?.close(), open?.close()]);
});

/** The directives of a Content-Security-Policy header, by name. */
function directives(header: unknown): Map<string, string[]> {
  return new Map(
    String(header)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('security headers', () => {
  it('sends a CSP without inline or eval script, and the usual hardening headers, on API answers', async () => {
    const response = await closed.get('/jobs');
    const csp = directives(response.headers['content-security-policy']);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('script-src-attr')).toEqual(["'none'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.has('upgrade-insecure-requests')).toBe(false);
    expect(response.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    });
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('serves Swagger UI whose every script is a same-origin file the CSP allows, and whose assets load', async () => {
    const page = await closed.get('/docs');
    expect(page.status).toBe(200);
    const html = String(page.body);
    const csp = directives(page.headers['content-security-policy']);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, content] of scripts) {
      // No inline script (script-src 'self' blocks it): each one is a relative file.
      expect(attributes).toMatch(/\bsrc="\.\/docs\/[^"]+\.js"/);
      expect(content!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i); // no inline event handlers (script-src-attr 'none')
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i); // nothing from another origin
    // Its one inline <style> and its style attributes need 'unsafe-inline' for styles (and only styles).
    expect(html).toMatch(/<style>/);
    expect(csp.get('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
    expect(csp.get('img-src')).toEqual(["'self'", 'data:']);
    const assets = [...html.matchAll(/(?:src|href)="\.\/(docs\/[^"]+)"/g)].map((m) => `/${m[1]}`);
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js', '/docs/swagger-ui.css']));
    for (const asset of assets) {
      const response = await closed.get(asset);
      expect([asset, response.status]).toEqual([asset, 200]);
      const type = String(response.headers['content-type']);
      if (asset.endsWith('.js')) expect(type).toMatch(/javascript/);
      if (asset.endsWith('.css')) expect(type).toMatch(/text\/css/);
    }
    // The initializer turns off the validator badge, an image from another site the CSP would refuse.
    const init = String((await closed.get('/docs/swagger-ui-init.js')).body);
    expect(init).toMatch(/"validatorUrl":\s*null/);
  });
});

describe('CORS', () => {
  it('is closed by default: no CORS headers for another origin, preflight included', async () => {
    const get = await closed.get('/jobs', { origin: DASHBOARD });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await closed.request('OPTIONS', '/jobs', undefined, {
      origin: DASHBOARD,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('opens to the origins in CORS_ORIGINS, and only to them', async () => {
    const preflight = await open.request('OPTIONS', '/jobs', undefined, {
      origin: DASHBOARD,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-api-key',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(DASHBOARD);
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/x-api-key/);
    const get = await open.get('/jobs', { origin: DASHBOARD });
    expect(get.headers['access-control-allow-origin']).toBe(DASHBOARD);
    expect(String(get.headers['access-control-expose-headers'])).toMatch(/retry-after/);
    const other = await open.get('/jobs', { origin: 'https://evil.example.com' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  const connect = (app: TestApp, origin?: string) =>
    new Promise<string>((resolve) => {
      const socket = io(`${app.baseUrl}/jobs/stream`, {
        transports: ['websocket'],
        reconnection: false,
        extraHeaders: origin ? { origin } : {},
      });
      sockets.push(socket);
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (error) => resolve(`refused: ${error.message}`));
    });

  it('applies to the Socket.IO stream alike: same origin, listed origins and non-browser clients connect', async () => {
    expect(await connect(closed)).toBe('connected');
    expect(await connect(closed, closed.baseUrl)).toBe('connected');
    expect(await connect(closed, DASHBOARD)).toMatch(/^refused/);
    expect(await connect(open, DASHBOARD)).toBe('connected');
    expect(await connect(open, 'https://evil.example.com')).toMatch(/^refused/);
  });
});

/** A request over real HTTP with the given headers (a browser's Origin, a form's content type), answering the status, the error code and the body. */
const send = (app: TestApp, method: string, path: string, headers: Record<string, string>, body = '') =>
  new Promise<{ status: number; code?: string; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const request = httpRequest(`${app.baseUrl}${path}`, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        resolve({ status: response.statusCode!, code, body: text, headers: response.headers });
      });
    });
    request.on('error', reject);
    request.end(body);
  });

describe('changes asked by pages of other origins', () => {
  const job = JSON.stringify({ type: 'noop', payload: {} });
  const json = { 'content-type': 'application/json' };

  it('refuses a change sent by a page of another origin, even one no preflight guards (an empty form POST), and makes none', async () => {
    const schedule = await closed.request('PUT', '/schedules/cross-site-probe', { cron: '0 0 1 1 *', job: { type: 'noop', payload: {} } });
    expect(schedule.status).toBeLessThan(300);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const origin of ['https://evil.example.com', 'null']) {
      const trigger = await send(closed, 'POST', '/schedules/cross-site-probe/trigger', { ...form, origin });
      expect({ origin, status: trigger.status, code: trigger.code }).toEqual({ origin, status: 403, code: 'CROSS_SITE_REQUEST' });
      const submit = await send(closed, 'POST', '/jobs', { ...json, origin }, job);
      expect({ origin, status: submit.status, code: submit.code }).toEqual({ origin, status: 403, code: 'CROSS_SITE_REQUEST' });
      expect((await send(closed, 'DELETE', '/schedules/cross-site-probe', { origin })).status).toBe(403);
    }
    expect((await closed.get('/schedules/cross-site-probe')).body).toMatchObject({ fire_count: 0, last_job_id: null });
    // Reading is not a change: a GET from another origin is answered (CORS keeps its answer from the page).
    expect((await send(closed, 'GET', '/jobs?limit=1', { origin: 'https://evil.example.com' })).status).toBe(200);
  });

  it('takes changes from the service’s own origin, from CORS_ORIGINS and from clients that send no Origin', async () => {
    const own = new URL(closed.baseUrl).origin;
    expect((await send(closed, 'POST', '/jobs', { ...json, origin: own }, job)).status).toBe(201);
    expect((await send(closed, 'POST', '/jobs', json, job)).status).toBe(201);
    expect((await send(open, 'POST', '/jobs', { ...json, origin: DASHBOARD }, job)).status).toBe(201);
    expect((await send(open, 'POST', '/jobs', { ...json, origin: 'https://evil.example.com' }, job)).code).toBe('CROSS_SITE_REQUEST');
  });
});

describe('security headers on answers no Fastify hook writes', () => {
  const secured = (headers: Record<string, unknown>) => ({
    csp: typeof headers['content-security-policy'] === 'string' && String(headers['content-security-policy']).includes("script-src 'self'"),
    nosniff: headers['x-content-type-options'],
    frame: headers['x-frame-options'],
  });
  const expected = { csp: true, nosniff: 'nosniff', frame: 'SAMEORIGIN' };

  it('carries them on a URL the router cannot decode, on Socket.IO’s long-polling and its refusals, and on bare-socket answers', async () => {
    const badUrl = await send(closed, 'GET', '/jobs/%zz', {});
    expect(badUrl.status).toBe(400);
    expect(secured(badUrl.headers)).toEqual(expected);
    const handshake = await send(closed, 'GET', '/socket.io/?EIO=4&transport=polling', {});
    expect(handshake.status).toBe(200);
    expect(secured(handshake.headers)).toEqual(expected);
    const refused = await send(closed, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: 'https://evil.example.com' });
    expect(refused.status).toBe(403);
    expect(secured(refused.headers)).toEqual(expected);
    const oversized = await send(closed, 'GET', '/jobs', { 'x-filler': 'x'.repeat(20_000) });
    expect(oversized.status).toBe(431);
    expect(secured(oversized.headers)).toEqual(expected);
  });
});
