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
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', (error: Error) => logConnectionError(error, (typeof config === 'object' && config.application_name) || 'pool'));
  }
}
