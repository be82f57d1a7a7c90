import { Controller, Get, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Dependency } from '../common/errors/domain-error.js';
import { DependencyProbe, type DependencyState } from './dependency-probe.js';
import { AnyQuery } from '../common/http/known-query.guard.js';

/** One check in the Terminus shape. */
export type Check = { status: 'up' | 'down'; message?: string; mode?: string; latency_ms?: number; checked_at?: string };

/** `{status, info, error, details}`, as Terminus writes it. */
export interface HealthBody {
  status: 'ok' | 'error';
  info: Record<string, Check>;
  error: Record<string, Check>;
  details: Record<string, Check>;
}

const DEPENDENCIES: readonly Dependency[] = ['database', 'redis'];

function toCheck(state: DependencyState): Check {
  const check: Check = { status: state.up ? 'up' : 'down' };
  if (state.message && !state.up) check.message = state.message;
  if (state.mode) check.mode = state.mode;
  if (state.latencyMs !== undefined && state.up) check.latency_ms = state.latencyMs;
  check.checked_at = new Date(state.checkedAt).toISOString();
  return check;
}

/** The checks of PostgreSQL and Redis from the probe's last results, in the Terminus shape (DESIGN §6). */
export function dependenciesBody(probe: Pick<DependencyProbe, 'state'>): HealthBody {
  const body: HealthBody = { status: 'ok', info: {}, error: {}, details: {} };
  for (const dependency of DEPENDENCIES) addCheck(body, dependency, toCheck(probe.state(dependency)));
  return body;
}

/** Adds a named check to a health body; one check down makes the whole body `error`. */
export function addCheck(body: HealthBody, name: string, check: Check): void {
  body.details[name] = check;
  if (check.status === 'up') body.info[name] = check;
  else {
    body.error[name] = check;
    body.status = 'error';
  }
}

/** A health route's answer: its status and body. */
export interface HealthAnswer {
  status: 200 | 503;
  body: HealthBody | { status: 'ok' };
}

type HealthRoute = '/health' | '/health/live' | '/health/ready';
const HEALTH_ROUTES: ReadonlySet<string> = new Set<HealthRoute>(['/health', '/health/live', '/health/ready']);

/**
 * Health endpoints served from the state DependencyProbe keeps current in the background: a
 * health request does no I/O, so it answers at once under any load and never waits for a
 * dependency that hangs. `answer` is also called from the HTTP door's first hooks (bootstrap.ts),
 * which answer a GET there, before the rate limit, body parsing and the Nest pipeline; these routes
 * stay for HEAD, and for the OpenAPI document.
 */
@ApiTags('operations')
@AnyQuery()
@Controller('health')
export class HealthController implements OnModuleDestroy {
  private stopping = false;

  constructor(private readonly probe: DependencyProbe) {}

  /** The first step of a shutdown: readiness answers 503, and so does every other request but health's and metrics'. */
  onModuleDestroy(): void {
    this.stopping = true;
  }

  isStopping(): boolean {
    return this.stopping;
  }

  @Get()
  @ApiOperation({
    summary: 'PostgreSQL and Redis checks (Terminus shape); 503 when one is down',
    description:
      'The result of the last background check (every HEALTH_PROBE_INTERVAL_MS, each bounded by HEALTH_PROBE_TIMEOUT_MS); the request itself does no I/O.',
  })
  @ApiResponse({ status: 200, description: '{status: "ok", info: {database: {status: "up"}, redis: {status: "up"}}, error: {}, details: {...}}' })
  @ApiResponse({ status: 503, description: '{status: "error", info: {...}, error: {redis: {status: "down", message}}, details: {...}}' })
  check(@Res({ passthrough: true }) reply: FastifyReply): HealthBody {
    return this.reply('/health', reply) as HealthBody;
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs and its event loop turns (checks no dependency)' })
  @ApiResponse({ status: 200, description: '{status: "ok"}' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: 200 when PostgreSQL and Redis answer and the process is not shutting down; else 503',
    description: 'Same body as GET /health. While it answers 503, requests that need the missing dependency get 503 with Retry-After.',
  })
  @ApiResponse({ status: 200, description: '{status: "ok", info: {...}, error: {}, details: {...}}' })
  @ApiResponse({ status: 503, description: '{status: "error", info: {...}, error: {database: {status: "down", message}}, details: {...}}' })
  ready(@Res({ passthrough: true }) reply: FastifyReply): HealthBody {
    return this.reply('/health/ready', reply) as HealthBody;
  }

  /** The answer to a GET of `route` (Fastify's route URL), from memory; null for a route not served here. */
  answer(route: string): HealthAnswer | null {
    if (!HEALTH_ROUTES.has(route)) return null;
    if (route === '/health/live') return { status: 200, body: { status: 'ok' } };
    const body = this.body();
    if (route === '/health/ready' && this.stopping) {
      const check: Check = { status: 'down', message: 'the process is shutting down' };
      body.status = 'error';
      body.error.process = check;
      body.details.process = check;
    }
    return { status: body.status === 'ok' ? 200 : 503, body };
  }

  private reply(route: HealthRoute, reply: FastifyReply): HealthAnswer['body'] {
    const { status, body } = this.answer(route)!;
    if (status !== 200) reply.status(status);
    return body;
  }

  private body(): HealthBody {
    return dependenciesBody(this.probe);
  }
}
