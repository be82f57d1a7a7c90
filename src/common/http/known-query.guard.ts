/**
 * Unknown query parameters are a 400 on every endpoint (DESIGN §6: unknown fields are refused), also on
 * those that take none: an endpoint with a `@Query()` DTO checks its own (RequestValidationPipe); for
 * one without, this guard refuses any parameter. Probes (health, metrics) opt out with AnyQuery().
 */
import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { Reflector } from '@nestjs/core';
import { ValidationFailedError } from '../errors/domain-error.js';
import { unknownFieldProblem } from './validation-problems.js';

const ANY_QUERY = 'draconic:any-query';

/** A controller or handler whose callers may add query parameters it ignores (a probe's cache buster). */
export const AnyQuery = () => SetMetadata(ANY_QUERY, true);

@Injectable()
export class KnownQueryGuard implements CanActivate {
  private readonly takesQuery = new WeakMap<Function, boolean>();

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const query = context.switchToHttp().getRequest<{ query?: Record<string, unknown> }>().query;
    if (!query || Object.keys(query).length === 0) return true;
    const handler = context.getHandler();
    if (this.reflector.getAllAndOverride<boolean>(ANY_QUERY, [handler, context.getClass()])) return true;
    if (this.declaresQuery(context.getClass(), handler)) return true;
    throw new ValidationFailedError(Object.keys(query).map((key) => unknownFieldProblem(key, key, [])));
  }

  /** Whether the handler has a `@Query()` parameter (its DTO then checks the names). */
  private declaresQuery(controller: Function, handler: Function): boolean {
    let known = this.takesQuery.get(handler);
    if (known === undefined) {
      const args: Record<string, unknown> = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {};
      known = Object.keys(args).some((key) => Number(key.split(':')[0]) === RouteParamtypes.QUERY);
      this.takesQuery.set(handler, known);
    }
    return known;
  }
}
