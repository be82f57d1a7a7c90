import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import { ACTOR, ANONYMOUS, ApiKeyRing, authorize, isOpenPath, type RequestActor } from './api-keys.js';


/**
 * When API_KEYS is set, every REST call needs `Authorization: Bearer <key>` or `x-api-key: <key>`
 * (DESIGN §6: 401), and a key whose role is below the endpoint's (`@RequiresRole`, else by method)
 * gets a 403. Leaves the request's actor for `@Actor()`.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: ApiKeyRing;

  constructor(config: AppConfig) {
    this.keys = new ApiKeyRing(config.apiKeys);
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { [ACTOR]?: RequestActor }>();
    if (this.keys.isOpen) {
      request[ACTOR] = ANONYMOUS;
      return true;
    }
    const path = request.url.split('?')[0] ?? '';
    if (isOpenPath(path)) return true;
    const entry = authorize(this.keys, request);
    request[ACTOR] = { name: entry.name, role: entry.role };
    return true;
  }
}
