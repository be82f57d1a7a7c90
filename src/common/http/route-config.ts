/** Entries of a Fastify route's `config`, set by several decorators on one Nest handler. */
import { RouteConfig } from '@nestjs/platform-fastify';

/**
 * The metadata key under which @nestjs/platform-fastify reads a handler's route config (its
 * FASTIFY_ROUTE_CONFIG_METADATA, which its index does not export), found by asking RouteConfig.
 */
const ROUTE_CONFIG_KEY: unknown = (() => {
  const probe = () => undefined;
  (RouteConfig({}) as ClassDecorator)(probe);
  return Reflect.getMetadataKeys(probe)[0];
})();

/**
 * Adds `entries` to the route's config. Nest's own @RouteConfig replaces the whole config, so a
 * handler with a required role (RequiresRole) and a submission mark (Submission) kept only one.
 */
export function WithRouteConfig(entries: Record<string, unknown>): MethodDecorator {
  return (_target, _property, descriptor) => {
    const handler = descriptor.value as object;
    const current = (Reflect.getMetadata(ROUTE_CONFIG_KEY, handler) as Record<string, unknown> | undefined) ?? {};
    Reflect.defineMetadata(ROUTE_CONFIG_KEY, { ...current, ...entries }, handler);
  };
}
