import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { createAppLogger, type AppLogger } from './common/logging/app-logger.js';
import { logRequests } from './common/logging/request-log.js';
import { httpServerOptions, registerHttpProtection, socketServerOptions } from './common/http/http-protection.js';
import { installJsonBodyParser } from './common/http/json-body-parser.js';
import { setupOpenApi } from './common/http/openapi.js';
import { RequestValidationPipe } from './common/http/request-validation.js';
import { cacheValidationMetadata } from './common/http/validation-metadata-cache.js';
import { BAD_HTTP_REQUEST } from './common/domain/error-codes.js';
import type { AppConfig } from './config/app-config.js';
import { deploymentOf } from './config/deployment.js';
import { JOB_EVENTS } from './events/job-event-bus.js';
import { ConfiguredIoAdapter, RedisIoAdapter } from './gateway/redis-io.adapter.js';
import { HealthController } from './health/health.controller.js';
import { Metrics } from './metrics/metrics.js';
import { JobTypeCatalog } from './jobs/job-type-catalog.js';
import { RedisConnections } from './redis/redis-connections.js';
import { registerDashboard } from './ui/dashboard.js';
import { installProtocolEdges } from './common/http/protocol-edges.js';
import { securingEveryAnswer } from './common/http/security-headers.js';

/** Global pipes, Swagger and HTTP metrics: everything an HTTP app needs beyond its modules. */
export function configureHttpApp(app: NestFastifyApplication, config: AppConfig, logger: AppLogger): void {
  const redisMessaging = deploymentOf(config).messaging === 'redis';
  const socketOptions = socketServerOptions(config);
  app.useWebSocketAdapter(
    redisMessaging ? new RedisIoAdapter(app, app.get(RedisConnections), socketOptions) : new ConfiguredIoAdapter(app, socketOptions),
  );
  cacheValidationMetadata();
  app.useGlobalPipes(new RequestValidationPipe());
  const metrics = app.get(Metrics);
  const fastify = app.getHttpAdapter().getInstance();
  installJsonBodyParser(fastify, config.maxBodyBytes);
  logRequests(fastify, logger.pino);
  // Both hooks are plain callbacks, not async functions: an async hook costs every request a promise
  // and a microtask hop through Fastify's hook runner.
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  // Fastify gave the request its id (x-request-id when sent, else a UUID; the request log names the same): echo it.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });
  const catalog = app.get(JobTypeCatalog);
  setupOpenApi(app, config, { jobTypes: () => catalog.entries(), events: JOB_EVENTS });
}

export async function createHttpApp(config: AppConfig, logger: AppLogger = createAppLogger(config)): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.maxBodyBytes,
    // A path parameter may be a schedule's name (up to 200 characters, percent-encoded up to 9 bytes
    // each): longer than Fastify's default of 100, which would answer 414 before any route could. Any
    // length goes to the route, which names the fault in its own words (INVALID_ID, QUEUE_NOT_FOUND):
    // the request line itself is bounded by Node's header size (431 beyond it).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1_000_000 },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // A URL the router cannot decode (a bad percent-escape): the error shape, not Fastify's own code.
    frameworkErrors: (error: Error, _request: unknown, reply: FastifyReply) => {
      void reply
        .code(400)
        .type('application/json; charset=utf-8')
        .send({ statusCode: 400, error: 'Bad Request', code: BAD_HTTP_REQUEST, message: `the URL cannot be read (${error.message}): percent-encode it (%XX with two hex digits)` });
    },
    ...httpServerOptions(config),
  });
  // bodyParser: false: the one body parser is installJsonBodyParser's (no form or text bodies).
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRole(config), adapter, {
    logger,
    bodyParser: false,
  });
  // GET /health, /health/live and /health/ready are answered in the first hooks, from the probe's last
  // state, without the rate limit, body handling and Nest pipeline every other request goes through.
  const health = app.get(HealthController);
  await registerHttpProtection(app, config, (route) => health.answer(route), () => health.isStopping());
  configureHttpApp(app, config, logger);
  installProtocolEdges(app.getHttpServer());
  await app.init();
  securingEveryAnswer(app.getHttpServer());
  // After init: a Fastify route takes the error handler in place when it is registered, and Nest
  // installs its own (the JSON error bodies, the rate limit's 429) in init. Registered earlier, GET /
  // answered an error raised in its hooks with Fastify's default handler, as a 500.
  await registerDashboard(app);
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

export async function createWorkerContext(config: AppConfig, logger: AppLogger = createAppLogger(config)): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(AppModule.forRole(config), { logger });
  await app.init();
  return app;
}
