/** The security headers every answer carries, however it is written: through Fastify, by Socket.IO's engine, or on a bare socket. */
import helmet from 'helmet';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * The Content-Security-Policy of every response. It fits Swagger UI at /docs (its scripts are files;
 * its page has one inline <style> and style attributes, hence 'unsafe-inline' for styles only; its
 * icons are data: URLs) and the dashboard at /ui/ (Vite-built module scripts and styles from the same
 * origin, fetch and the Socket.IO websocket to the same origin: 'self' covers ws: and wss: there).
 * No inline or eval'd script anywhere. No upgrade-insecure-requests: the service is often reached
 * over plain HTTP on a private network, where it would break every asset.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
};

/**
 * Helmet's security headers for this CSP, worked out once: they depend on nothing of the request.
 * Helmet's middleware is run against a recorder at startup and its header writes are replayed on every
 * response (the same names, values and order). Building helmet's middleware per request, as its Fastify
 * plugin does, re-parsed the CSP directives every time: about a tenth of a small submit's CPU.
 */
export function securityHeaders(): { set: ReadonlyArray<readonly [string, string]>; removed: readonly string[] } {
  const set: Array<[string, string]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => {
      if (typeof value !== 'string') throw new Error(`helmet set ${name} to a ${typeof value}, not a fixed string`);
      set.push([name, value]);
    },
    removeHeader: (name: string) => removed.push(name),
  };
  let finished = false;
  const middleware = helmet({ contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY } });
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('helmet did not finish synchronously: its headers are not fixed');
  return { set, removed };
}

/** The headers of every answer, worked out once at startup. */
export const SECURITY_HEADERS = securityHeaders();

/**
 * Sets the security headers on every response of `server` before any other listener sees its request:
 * the answers Fastify gives before its hooks run (a URL its router cannot decode) and those of
 * Socket.IO's engine (long-polling, its refusals), which never reach a Fastify hook, carry them too.
 * Call after the app's init, when Socket.IO's engine has put its own request listener in place.
 */
export function securingEveryAnswer(server: Server): void {
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    for (const [name, value] of SECURITY_HEADERS.set) response.setHeader(name, value);
    for (const name of SECURITY_HEADERS.removed) response.removeHeader(name);
  });
}

/** The same headers as raw header lines, for an answer written on a bare socket. */
export const SECURITY_HEADER_LINES = SECURITY_HEADERS.set.map(([name, value]) => `${name}: ${value}\r\n`).join('');
