/**
 * A path the service serves, asked with a method it does not take there, is a 405 with an `Allow`
 * header listing the methods it does take (RFC 9110 §15.5.6), not the 404 of a path that does not
 * exist: `DELETE /jobs` tells its caller which methods `/jobs` has.
 */
import type { FastifyInstance } from 'fastify';
import { MethodNotAllowedError } from '../errors/domain-error.js';

interface ServedPath {
  pattern: RegExp;
  methods: Set<string>;
}

/** A route's path as a pattern of whole paths: each `:param` one segment; a wildcard path has none (it serves every path below it). */
export function pathPattern(url: string): RegExp | null {
  if (url.includes('*')) return null;
  const source = url
    .replace(/\/+$/, '')
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** The methods the served paths take at `path`, in a stable order (none when no route serves it). */
export function methodsAt(served: readonly ServedPath[], path: string): string[] {
  const methods = new Set<string>();
  for (const { pattern, methods: taken } of served) if (pattern.test(path)) for (const m of taken) methods.add(m);
  return [...methods].sort();
}

/** Records every route as it is registered (call before the routes are), and answers a wrong method with 405. */
export function answerWrongMethods(fastify: FastifyInstance): void {
  const served = new Map<string, ServedPath>();
  fastify.addHook('onRoute', (route) => {
    const pattern = pathPattern(route.url);
    if (!pattern) return;
    const entry = served.get(pattern.source) ?? { pattern, methods: new Set<string>() };
    for (const method of [route.method].flat()) entry.methods.add(method.toUpperCase());
    served.set(pattern.source, entry);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    const path = request.url.split('?')[0] ?? '';
    const allowed = methodsAt([...served.values()], path);
    if (allowed.length === 0) return done();
    void reply.header('allow', allowed.join(', '));
    done(new MethodNotAllowedError(`${request.method.slice(0, 20)} is not supported at ${path.slice(0, 200)}: use ${allowed.join(', ')}`, { details: { allowed_methods: allowed } }));
  });
}
