import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import { UnauthorizedError } from '../errors/domain-error.js';

/** Paths open without a key: liveness, metrics scraping and the API docs. */
const OPEN = [/^\/health\/?$/, /^\/metrics\/?$/, /^\/docs(\/|-json|-yaml|$)/];

export function isValidApiKey(keys: readonly string[], presented: string | undefined): boolean {
  if (!presented) return false;
  const given = Buffer.from(presented);
  return keys.some((key) => {
    const expected = Buffer.from(key);
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

/** When API_KEYS is set, every REST call needs `Authorization: Bearer <key>` or `x-api-key: <key>` (DESIGN §6: 401). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.config.apiKeys.length === 0 || context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const path = request.url.split('?')[0] ?? '';
    if (OPEN.some((re) => re.test(path))) return true;
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
    const apiKey = request.headers['x-api-key'];
    const presented = bearer ?? (typeof apiKey === 'string' ? apiKey : undefined);
    if (isValidApiKey(this.config.apiKeys, presented)) return true;
    throw new UnauthorizedError(
      presented ? 'invalid API key' : 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"',
    );
  }
}
