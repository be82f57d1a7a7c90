import { Controller, Get, HttpException, Optional, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator, type HealthCheckResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { RedisConnections } from '../redis/redis-connections.js';

const CHECK_TIMEOUT_MS = 1500;

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Optional() private readonly redis?: RedisConnections,
  ) {}

  @Get()
  @ApiOperation({ summary: 'PostgreSQL and Redis checks (Terminus shape); 503 when one is down' })
  @ApiResponse({ status: 200, description: '{status: "ok", info: {database: {status: "up"}, redis: {status: "up"}}, error: {}, details: {...}}' })
  @ApiResponse({ status: 503, description: '{status: "error", info: {...}, error: {redis: {status: "down", message}}, details: {...}}' })
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | object> {
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
        () => {
          const redis = this.redis;
          // Embedded mode (no REDIS_URL): queue and events are in-process, so there is nothing to ping.
          if (!redis) return this.indicators.check('redis').up({ mode: 'in-process' });
          return this.indicators
            .check('redis')
            .attempt(async () => {
              const answer = await redis.client.ping();
              if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
            })
            .withTimeout(CHECK_TIMEOUT_MS);
        },
      ]);
    } catch (error) {
      if (!(error instanceof HttpException)) throw error;
      reply.status(error.getStatus());
      return error.getResponse() as object;
    }
  }
}
