import type { FastifyInstance } from 'fastify';
import type { Logger as Pino } from 'pino';

/** Answers that shed load (429 rate limited, 503 overloaded or a dependency down): a flood brings them by the thousand. */
const REFUSALS: ReadonlySet<number> = new Set([429, 503]);

/**
 * error for a fault of the service (500 and the other 5xx), warn for a refusal (4xx, and 503: shedding load,
 * shutting down, a dependency down, which its own health probe logs as a fault), debug for the rest. A
 * routine deploy's SHUTTING_DOWN answers and readiness 503s are no error to page anyone over.
 */
const levelOf = (status: number): 'error' | 'warn' | 'debug' => (status >= 500 && status !== 503 ? 'error' : status >= 400 ? 'warn' : 'debug');

/**
 * One line per answered request at levelOf its status: the request id, method,
 * URL, status and time, never a header (API keys travel in headers). Refusals (429, 503) are logged
 * one by one only for the first of each status in a window of `refusalWindowMs`; the others are
 * counted and summed up in one line when the window ends, so a flood does not become a flood of log
 * lines (a line costs CPU on the event loop the flood is already holding, and disk). A plain
 * callback: an async hook costs every request a promise.
 */
export function logRequests(fastify: FastifyInstance, logger: Pino, refusalWindowMs = 10_000): void {
  const unlogged = new Map<number, number>();
  let windowTimer: NodeJS.Timeout | undefined;
  const endWindow = () => {
    windowTimer = undefined;
    for (const [status, count] of unlogged) {
      if (count === 0) continue;
      logger[levelOf(status)](
        { context: 'HTTP', res: { statusCode: status }, count, windowMs: refusalWindowMs },
        `${count} more requests refused with ${status}, not logged one by one`,
      );
    }
    unlogged.clear();
  };
  fastify.addHook('onClose', (_instance, done) => {
    clearTimeout(windowTimer);
    endWindow();
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = levelOf(status);
    if (logger.isLevelEnabled(level)) {
      if (REFUSALS.has(status)) {
        const count = unlogged.get(status);
        if (count !== undefined) {
          unlogged.set(status, count + 1);
          return done();
        }
        unlogged.set(status, 0);
        windowTimer ??= setTimeout(endWindow, refusalWindowMs).unref();
      }
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
