/** Finds the API key a request presents, in constant time, and remembers who made the request. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { ApiKeyEntry, KeyRole } from '../../config/api-keys.js';
import { ForbiddenError, UnauthorizedError } from '../errors/domain-error.js';
import { requiredRole, roleAllows } from './roles.js';

/** Who made a request: the key's name and role, or `anonymous` (with every role) when API_KEYS is empty. */
export interface RequestActor {
  name: string;
  role: KeyRole;
}

export const ANONYMOUS: RequestActor = { name: 'anonymous', role: 'admin' };

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The configured keys, compared by their SHA-256 digests with timingSafeEqual, every key every
 * time: neither the position of a match nor a key's length shows in the time an answer takes.
 */
export class ApiKeyRing {
  private readonly digests: Array<{ entry: ApiKeyEntry; digest: Buffer }>;

  constructor(entries: readonly ApiKeyEntry[]) {
    this.digests = entries.map((entry) => ({ entry, digest: digest(entry.key) }));
  }

  get isOpen(): boolean {
    return this.digests.length === 0;
  }

  identify(presented: string | undefined): ApiKeyEntry | null {
    if (presented === undefined || presented.length === 0 || presented.length > 4096) return null;
    const given = digest(presented);
    let found: ApiKeyEntry | null = null;
    for (const { entry, digest: expected } of this.digests) {
      if (timingSafeEqual(expected, given) && !found) found = entry;
    }
    return found;
  }
}

/** The keys a request presents, each once: `Authorization: Bearer <key>` and `x-api-key: <key>`. */
function presentedKeys(headers: Record<string, string | string[] | undefined>): string[] {
  const keys: string[] = [];
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && /^Bearer\s+/i.test(authorization)) keys.push(authorization.replace(/^Bearer\s+/i, '').trim());
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && !keys.includes(apiKey)) keys.push(apiKey);
  return keys;
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>` (the first when it sends two). */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  return presentedKeys(headers)[0];
}

/** Paths open without a key: health probes, metrics scraping, the API docs and the dashboard's files. */
const OPEN = [/^\/health(\/.*)?$/, /^\/metrics\/?$/, /^\/docs(\/|-json|-yaml|$)/, /^\/(ui(\/.*)?)?$/];

export const isOpenPath = (path: string): boolean => OPEN.some((re) => re.test(path));

/** Where the request's key, once checked, is kept: the body hook and the guard check it once. */
const AUTHENTICATED = Symbol.for('draconic.authenticated');

/**
 * The configured key a request presents, checked once per request; throws the 401 for a missing or
 * unknown key, and for two different keys in one request (an `x-api-key` beside another
 * `Authorization: Bearer`): which of them was meant cannot be told, and taking either would let a
 * request borrow a stronger key's role beside its own.
 */
export function authenticate(keys: ApiKeyRing, request: { headers: Record<string, string | string[] | undefined> }): ApiKeyEntry {
  const memo = request as { [AUTHENTICATED]?: ApiKeyEntry };
  if (memo[AUTHENTICATED]) return memo[AUTHENTICATED];
  const presented = presentedKeys(request.headers);
  if (presented.length > 1) {
    throw new UnauthorizedError('two different API keys were sent (Authorization: Bearer and x-api-key): send one');
  }
  const entry = keys.identify(presented[0]);
  if (!entry) {
    throw new UnauthorizedError(presented.length > 0 ? 'invalid API key' : 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"');
  }
  memo[AUTHENTICATED] = entry;
  return entry;
}

/** A request as the key check sees it: its headers, and the route Fastify matched. */
interface KeyedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  routeOptions?: { url?: string; config?: unknown };
}

/**
 * The configured key a request presents, and whether its role reaches the matched route's
 * (`@RequiresRole`, else by method): throws the 401 of `authenticate`, or a 403.
 */
export function authorize(keys: ApiKeyRing, request: KeyedRequest): ApiKeyEntry {
  const entry = authenticate(keys, request);
  const required = requiredRole(request);
  if (!roleAllows(entry.role, required)) {
    const route = request.routeOptions?.url ?? request.url.split('?')[0];
    throw new ForbiddenError(`key "${entry.name}" has role ${entry.role}; ${request.method} ${route} needs ${required}`, {
      role: entry.role,
      required_role: required,
    });
  }
  return entry;
}

/** Where the guard leaves the request's actor. */
export const ACTOR = Symbol.for('draconic.actor');

/**
 * The name of who made the request (`anonymous` when API_KEYS is empty): a state-changing endpoint
 * passes it down, and it is recorded as `actor` in the job's logs and events.
 */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<{ [ACTOR]?: RequestActor }>();
  return (request[ACTOR] ?? ANONYMOUS).name;
});

/**
 * With API_KEYS set, the key and its role are checked before the body is read: a caller without a
 * valid key gets its 401, and one whose key's role is too low its 403, without the service reading,
 * decoding or parsing what it sent. A preParsing hook runs after every onRequest hook, the rate
 * limit's included, so guessing keys still counts against the caller's address.
 */
export function authorizeBeforeBody(fastify: FastifyInstance, keys: ApiKeyRing): void {
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    if (request.is404 || isOpenPath(request.url.split('?')[0] ?? '')) return done(null, payload);
    try {
      authorize(keys, request);
    } catch (error) {
      return done(error as Error, undefined);
    }
    done(null, payload);
  });
}
