import type { FastifyInstance } from 'fastify';
import { CrossSiteRequestError } from '../errors/domain-error.js';

/**
 * Whether a browser page at `origin` may talk to the service at `host`: its own origin always,
 * others only when CORS_ORIGINS names them (or is `*`). No Origin header: not a browser's
 * cross-site request (curl, a service), which the API key guards instead.
 */
export function isOriginAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  if (host === undefined) return false;
  try {
    // The Host header read as the URL parser reads the Origin (default port dropped, name lowercased):
    // `Host: jobs.example.com:443` is the origin https://jobs.example.com.
    const page = new URL(origin);
    return new URL(`${page.protocol}//${host}`).host === page.host;
  } catch {
    return false;
  }
}

/** Methods a page of any origin may send: they change nothing. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses, with 403 CROSS_SITE_REQUEST, a request that changes something (POST, PUT, PATCH, DELETE)
 * carrying an `Origin` other than the service's own and not in CORS_ORIGINS: the same rule as the
 * Socket.IO handshake's. CORS alone does not cover them: a POST without a body, or with a form's
 * content type, needs no preflight, so a page elsewhere could trigger a schedule or retry a job on a
 * service without API_KEYS (on localhost or a private network) just by being visited; its answer is
 * unreadable to it, but the change is made. Clients that are not browsers send no Origin and are
 * not concerned; the API key guards them.
 */
export function refuseCrossSiteChanges(fastify: FastifyInstance, corsOrigins: readonly string[]): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (SAFE.has(request.method)) return done();
    const { origin, host } = request.headers;
    if (typeof origin !== 'string' || isOriginAllowed(origin, host, corsOrigins)) return done();
    done(new CrossSiteRequestError(origin));
  });
}
