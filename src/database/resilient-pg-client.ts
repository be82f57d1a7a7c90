import { Logger } from '@nestjs/common';
import pg from 'pg';

const logger = new Logger('PostgreSQL');

/** Logs a connection's error: the connection is unusable from then on, and its owner replaces it. */
export function logConnectionError(error: Error & { code?: string }, connection: string): void {
  logger.warn({ err: error.message, code: error.code, connection }, 'PostgreSQL connection lost; it is replaced on next use');
}

/**
 * A pg Client that is never without an 'error' listener. node-postgres emits 'error' on a client
 * when its backend goes (`pg_terminate_backend`, a restart, a network cut) between queries, and an
 * EventEmitter with no listener throws it out of the process. pg-pool listens while a client is idle
 * and the borrower is meant to listen while it holds one, but TypeORM's QueryRunner attaches its
 * listener a promise tick after pg-pool removed the pool's: when the server's FATAL arrives in the
 * same socket read as the end of the previous query or of the handshake, the error is emitted in
 * between, to nobody, and the process dies (seen under a storm of terminated backends). This
 * listener is always there; the client is then not queryable, so the borrower's next query fails
 * with an error it handles, and pg-pool drops the client when it comes back.
 */
export class ResilientPgClient extends pg.Client {
  private readonly stallTimeoutMillis: number;

  constructor(config?: string | ResilientPgClientConfig) {
    super(config);
    this.stallTimeoutMillis = (typeof config === 'object' && config.stallTimeoutMillis) || 0;
    this.on('error', (error: Error) => logConnectionError(error, (typeof config === 'object' && config.application_name) || 'pool'));
  }

  /**
   * pg's query, watched: with `stallTimeoutMillis`, a statement not answered within it destroys the
   * connection. pg then fails that statement and every one queued behind it with the error (code
   * ETIMEDOUT: unavailable, transient), the client is no longer queryable, and the pool replaces it.
   * A connection that stopped carrying bytes without closing (a host gone, a NAT or firewall that forgot
   * it) would otherwise hold its caller, and everything that waits on that caller, forever: TCP notices
   * nothing while it has nothing to send. pg's own `query_timeout` fails the statement but keeps the
   * connection, so the next statement on it waits the same way. Streamed queries (a Submittable) are not
   * watched.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg's overloads, passed through as they are
  override query(...args: any[]): any {
    const limit = this.stallTimeoutMillis;
    const first = args[0] as { submit?: unknown; callback?: unknown } | undefined;
    const run = (...a: unknown[]): unknown => (pg.Client.prototype.query as (...q: unknown[]) => unknown).apply(this, a);
    if (limit <= 0 || typeof first?.submit === 'function' || typeof first?.callback === 'function') return run(...args);
    const timer = setTimeout(() => this.abandon(limit), limit);
    const done = (): void => clearTimeout(timer);
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (...result: unknown[]) => void;
      args[last] = (...result: unknown[]) => {
        done();
        callback(...result);
      };
      return run(...args);
    }
    const result = run(...args) as Promise<unknown> | undefined;
    if (result && typeof result.then === 'function') result.then(done, done);
    else done();
    return result;
  }

  private abandon(limit: number): void {
    const error = Object.assign(new Error(`PostgreSQL did not answer a statement within ${limit} ms (DB_QUERY_TIMEOUT_MS and a margin): its connection is closed`), { code: 'ETIMEDOUT' });
    const stream = (this as unknown as { connection?: { stream?: { destroyed?: boolean; destroy(error?: Error): void } } }).connection?.stream;
    if (!stream || stream.destroyed) return;
    stream.destroy(error);
  }
}

export interface ResilientPgClientConfig extends pg.ClientConfig {
  /** Closes the connection of a statement not answered within this long (DB_QUERY_TIMEOUT_MS); 0 = never. */
  stallTimeoutMillis?: number;
}
