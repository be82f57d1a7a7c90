/** The HTTP door: timeouts, security headers, CORS, the per-key rate limit and the bound on submissions in flight. */
import rateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Socket } from 'node:net';
import type { AppConfig } from '../../config/app-config.js';
import { BAD_HTTP_REQUEST, HEADERS_TOO_LARGE, REQUEST_TIMEOUT } from '../domain/error-codes.js';
import { OverloadedError, RateLimitedError, ShuttingDownError } from '../errors/domain-error.js';
import { ApiKeyRing, authorizeBeforeBody, presentedKey } from './api-keys.js';
import { answerWrongMethods } from './method-not-allowed.js';
import { isOriginAllowed, refuseCrossSiteChanges } from './cross-site.js';
import { hasBody } from './no-body.js';
import { WithRouteConfig } from './route-config.js';
import { answerAndClose, isHeadRequest } from './socket-answers.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** Paths never rate-limited: probes and scrapes must get through a flood. */
const UNLIMITED = /^\/(health(\/|\?|$)|metrics\/?(\?|$))/;

const timeoutMessage = (ms: number) => `the request did not arrive whole within ${ms} ms (REQUEST_TIMEOUT_MS)`;

/**
 * Fastify's server options for the timeouts: the request line and headers must arrive within
 * REQUEST_TIMEOUT_MS (Node's requestTimeout, checked every second at most; the body is timed by
 * registerHttpProtection), an idle connection closes after CONNECTION_TIMEOUT_MS. Errors Node finds
 * before a request exists (a timeout, oversized headers, bad HTTP) are answered in the service's error shape.
 */
export function httpServerOptions(config: AppConfig): Partial<FastifyServerOptions> & { http?: { connectionsCheckingInterval: number; requireHostHeader: boolean } } {
  const { requestTimeoutMs, connectionTimeoutMs, keepAliveTimeoutMs } = config.http;
  return {
    requestTimeout: requestTimeoutMs,
    connectionTimeout: connectionTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    // Host is checked in the first request hook, to refuse its absence in the service's error shape.
    http: { connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(requestTimeoutMs / 4))), requireHostHeader: false },
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const head = isHeadRequest(error);
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') answerAndClose(socket, 408, REQUEST_TIMEOUT, timeoutMessage(requestTimeoutMs), error, head);
      else if (error.code === 'HPE_HEADER_OVERFLOW') answerAndClose(socket, 431, HEADERS_TOO_LARGE, 'the request line and headers are too large', error, head);
      else answerAndClose(socket, 400, BAD_HTTP_REQUEST, 'malformed HTTP request', error, head);
    },
  };
}

const BODY_TIMER = Symbol('draconic.bodyTimer');

/**
 * Node stops timing a request once its headers are in, so a client that promises a longer body than
 * it sends would hold its connection (and a body parser) forever: the body gets the rest of
 * REQUEST_TIMEOUT_MS, then a 408 and the connection closed.
 */
function timeBodies(fastify: FastifyInstance, requestTimeoutMs: number): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!hasBody(request.headers)) return done();
    const timer = setTimeout(() => {
      if (!reply.sent) answerAndClose(request.raw.socket, 408, REQUEST_TIMEOUT, timeoutMessage(requestTimeoutMs), undefined, request.method === 'HEAD');
    }, requestTimeoutMs);
    (request as FastifyRequest & { [BODY_TIMER]?: NodeJS.Timeout })[BODY_TIMER] = timer;
    reply.raw.once('close', () => clearTimeout(timer));
    done();
  });
  // The body is parsed by then.
  fastify.addHook('preValidation', (request, _reply, done) => {
    clearTimeout((request as FastifyRequest & { [BODY_TIMER]?: NodeJS.Timeout })[BODY_TIMER]);
    done();
  });
}

const SUBMISSION = 'draconicSubmission';

/**
 * Marks an endpoint that submits work (POST /jobs, POST /jobs/batch; later retry and trigger): at
 * most MAX_SUBMITS_IN_FLIGHT of them are handled at once, and past that a submit gets 503 with
 * Retry-After at once, before its body is read, instead of queueing behind a slow PostgreSQL.
 */
export const Submission = () => WithRouteConfig({ [SUBMISSION]: true });

/** An answer given from memory: the status and the JSON body. */
export interface EarlyAnswer {
  status: number;
  body: unknown;
}

/**
 * Answers, from memory, the GETs of routes that must get through a flood (the health probes): called
 * with the matched route's URL, it returns the answer, or null to let the request go on.
 */
export type EarlyAnswers = (route: string) => EarlyAnswer | null;

/**
 * Answers a GET of a route `answers` knows in the request's first hooks: after the security headers
 * (and CORS), before the rate limit, the submissions bound, the body and the Nest pipeline (guards,
 * interceptors, pipes). The answer still goes through the onSend and onResponse hooks (request id,
 * metrics, request log).
 */
function answerEarly(fastify: FastifyInstance, answers: EarlyAnswers): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    const answer = request.method === 'GET' && route !== undefined ? answers(route) : null;
    if (answer === null) return done();
    void reply.code(answer.status).send(answer.body);
  });
}

/**
 * Body timeouts, helmet, CORS, the early answers, the rate limit and the submissions bound. Call before
 * `app.init()` (they hook every route).
 */
/**
 * CONNECTION_TIMEOUT_MS closes a connection with no traffic: an idle client's. A request the service is
 * still carrying out (a bulk action over many jobs, a submit waiting on a busy database) sends nothing
 * until its answer, and must not lose that answer, nor leave its client not knowing what was done: from
 * the moment its body is read until its answer is sent, its connection has no idle timeout.
 */
function holdWhileAnswering(fastify: FastifyInstance, connectionTimeoutMs: number): void {
  if (connectionTimeoutMs <= 0) return;
  fastify.addHook('preHandler', (request, reply, done) => {
    const socket = request.raw.socket as Partial<Socket> | undefined;
    // An injected request (light-my-request, the tests' and the embedded client's) has a stand-in socket without timers.
    if (!socket || socket.destroyed || typeof socket.setTimeout !== 'function') return done();
    socket.setTimeout(0);
    reply.raw.once('close', () => {
      if (!socket.destroyed) socket.setTimeout!(connectionTimeoutMs);
    });
    done();
  });
}

/**
 * Once the shutdown has begun, a request is answered 503 SHUTTING_DOWN with `Connection: close` (the
 * health routes and /metrics excepted: they report the shutdown). Readiness already says so, but a client
 * holding a keep-alive connection goes on sending on it: served, it kept the instance taking new work
 * through the whole drain, and its connection never closed, so neither did the HTTP server.
 */
function refuseWhileStopping(fastify: FastifyInstance, stopping: () => boolean): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!stopping() || UNLIMITED.test(request.url)) return done();
    if (request.raw.httpVersionMajor === 1) void reply.header('connection', 'close');
    done(new ShuttingDownError());
  });
}

export async function registerHttpProtection(
  app: NestFastifyApplication,
  config: AppConfig,
  early?: EarlyAnswers,
  stopping: () => boolean = () => false,
): Promise<void> {
  const { rateLimitMax, rateLimitWindowMs, maxSubmitsInFlight, corsOrigins, requestTimeoutMs, connectionTimeoutMs } = config.http;
  timeBodies(app.getHttpAdapter().getInstance(), requestTimeoutMs);
  holdWhileAnswering(app.getHttpAdapter().getInstance(), connectionTimeoutMs);
  answerWrongMethods(app.getHttpAdapter().getInstance());
  app.getHttpAdapter().getInstance().addHook('onRequest', (request, reply, done) => {
    // Set already by the server's first request listener (securingEveryAnswer), except on injected requests.
    const raw = reply.raw;
    if (!raw.hasHeader('content-security-policy')) {
      for (const [name, value] of SECURITY_HEADERS.set) raw.setHeader(name, value);
      for (const name of SECURITY_HEADERS.removed) raw.removeHeader(name);
    }
    // HTTP/1.1 requires Host (RFC 9112 §3.2); Node's own refusal (requireHostHeader) had an empty body.
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      void reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'an HTTP/1.1 request needs a Host header', code: BAD_HTTP_REQUEST });
      return;
    }
    done();
  });
  if (early) answerEarly(app.getHttpAdapter().getInstance(), early);
  refuseWhileStopping(app.getHttpAdapter().getInstance(), stopping);
  refuseCrossSiteChanges(app.getHttpAdapter().getInstance(), corsOrigins);

  // Closed unless CORS_ORIGINS names origins: a page elsewhere can then neither read answers nor
  // send JSON (a JSON POST needs a preflight, which gets no CORS headers).
  if (corsOrigins.length > 0) {
    app.enableCors({
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }

  if (rateLimitMax > 0) {
    const keys = new ApiKeyRing(config.apiKeys);
    await app.register(rateLimit, {
      max: rateLimitMax,
      timeWindow: rateLimitWindowMs,
      // Per key when a valid one is presented, else per address (so guessing keys is limited too).
      keyGenerator: (request) => {
        const entry = keys.isOpen ? null : keys.identify(presentedKey(request.headers));
        return entry ? `key:${entry.name}` : `address:${request.ip}`;
      },
      allowList: (request) => UNLIMITED.test(request.url),
      errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000)), context.max, rateLimitWindowMs),
    });
  }

  if (config.apiKeys.length > 0) authorizeBeforeBody(app.getHttpAdapter().getInstance(), new ApiKeyRing(config.apiKeys));

  let inFlight = 0;
  app.getHttpAdapter().getInstance().addHook('onRequest', (request, reply, done) => {
    if (!(request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[SUBMISSION]) return done();
    if (inFlight >= maxSubmitsInFlight) {
      return done(new OverloadedError(`${inFlight} submissions are being handled, the most at once (MAX_SUBMITS_IN_FLIGHT); retry shortly`, 1));
    }
    inFlight += 1;
    let released = false;
    reply.raw.once('close', () => {
      if (released) return;
      released = true;
      inFlight -= 1;
    });
    done();
  });
}

/**
 * Socket.IO's options for the same policy as REST: CORS headers (long-polling) only for
 * CORS_ORIGINS, and a handshake from a page of another origin refused (a websocket is not subject
 * to CORS, so the Origin header is checked here).
 */
export function socketServerOptions(config: AppConfig): {
  cors?: { origin: string | string[]; methods: string[] };
  allowRequest: (request: { headers: Record<string, string | string[] | undefined> }, callback: (error: string | null | undefined, success: boolean) => void) => void;
} {
  const origins = config.http.corsOrigins;
  return {
    ...(origins.length > 0 ? { cors: { origin: origins.includes('*') ? '*' : origins, methods: ['GET', 'POST'] } } : {}),
    allowRequest: (request, callback) => {
      const { origin, host } = request.headers;
      const allowed = isOriginAllowed(typeof origin === 'string' ? origin : undefined, typeof host === 'string' ? host : undefined, origins);
      callback(allowed ? null : 'origin not allowed (CORS_ORIGINS)', allowed);
    },
  };
}
