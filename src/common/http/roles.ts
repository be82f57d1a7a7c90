/** Who may call what: the role each endpoint requires, declared on it or defaulted from its method. */
import { applyDecorators } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { WithRouteConfig } from './route-config.js';
import { KEY_ROLES, type KeyRole } from '../../config/api-keys.js';

export { KEY_ROLES, type KeyRole };

export const REQUIRED_ROLE = 'draconic:requiredRole';

/**
 * The role every endpoint needs, by what it does (DESIGN §13-§15 included): a new endpoint takes
 * its row, `@RequiresRole(ACTION_ROLES.retry)`. `read` is GET and the live-update socket; `operate`
 * also changes jobs; `admin` also changes how the service runs.
 */
export const ACTION_ROLES = {
  read: 'read',
  submit: 'operate',
  cancel: 'operate',
  retry: 'operate',
  trigger: 'operate',
  queueSettings: 'admin',
  schedules: 'admin',
  bulk: 'admin',
  delete: 'admin',
} as const satisfies Record<string, KeyRole>;

/**
 * Declares the role an endpoint requires. It goes into the Fastify route's config, where the key
 * check reads it before the body is read, and into the OpenAPI document as `x-required-role`.
 */
export function RequiresRole(role: KeyRole): MethodDecorator {
  return applyDecorators(
    WithRouteConfig({ [REQUIRED_ROLE]: role }),
    ApiExtension('x-required-role', role),
  ) as MethodDecorator;
}

/** The role a matched route requires: its `@RequiresRole`, else the default for its method. */
export function requiredRole(request: { method: string; routeOptions?: { config?: unknown } }): KeyRole {
  const config = request.routeOptions?.config as Record<string, KeyRole | undefined> | undefined;
  return config?.[REQUIRED_ROLE] ?? defaultRole(request.method);
}

/** An endpoint that declares no role: reads need `read`; anything else `admin`, so a forgotten declaration fails closed. */
export function defaultRole(method: string): KeyRole {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : 'admin';
}

export function roleAllows(held: KeyRole, required: KeyRole): boolean {
  return KEY_ROLES.indexOf(held) >= KEY_ROLES.indexOf(required);
}
