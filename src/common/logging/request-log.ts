import type { FastifyInstance } from 'fastify';
import type { Logger as Pino } from 'pino';

/**
 * One line per answered request: debug below 400, warn for 4xx, error for 5xx; the request id, method,
 * URL, status and time, never a header (API keys travel in headers). A plain callback: an async hook
 * costs every request a promise.
 */
export function logRequests(fastify: FastifyInstance, logger: Pino): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'debug';
    if (logger.isLevelEnabled(level)) {
      logger[level](
        {
          context: 'HTTP',
          req: { id: request.id, method: request.method, url: request.url },
          res: { statusCode: status },
          responseTime: Math.round(reply.elapsedTime),
        },
        status >= 400 ? 'request failed' : 'request completed',
      );
    }
    done();
  });
}
