import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { applicationName } from '../database/data-source-options.js';
import { OwnConnection } from '../database/own-connection.js';
import type { ResilientPgClient } from '../database/resilient-pg-client.js';
import { Sql } from '../database/sql.js';

/**
 * The connection a worker's heartbeats go through: one of their own, outside the pool. When every
 * pooled connection waits (statements queued behind an operator's lock on `jobs`, a burst of
 * completions on a slow disk), a beat sent through the pool would wait for a free connection past the
 * lease, and the worker would fence itself, aborting every running job, while PostgreSQL answers.
 * The beat reads and writes `workers` alone, so on its own connection it goes through.
 *
 * Opened on first use; after a failed statement, or when the agent gives up on a beat (`drop`), the
 * next beat opens a new one. A beat for which none can be opened (PostgreSQL or the role at its
 * connection limit: the pool took the slot back) goes through the pool. The embedded database has one
 * session for every connection, so there the beats take the pool like everything else.
 */
@Injectable()
export class HeartbeatConnection implements OnApplicationShutdown {
  private readonly own: OwnConnection;

  constructor(
    private readonly config: AppConfig,
    private readonly sql: Sql,
  ) {
    this.own = new OwnConnection({
      connectionString: config.databaseUrl,
      application_name: `${applicationName(config)}-heartbeat`.slice(0, 63),
      connectionTimeoutMillis: Math.min(config.dbConnectTimeoutMs, 1000), // a beat has a few seconds in all
      keepAlive: true,
      options: config.dbQueryTimeoutMs > 0 ? `-c statement_timeout=${config.dbQueryTimeoutMs}` : undefined,
    });
  }

  async query<T = Record<string, unknown>>(text: string, values: unknown[]): Promise<T[]> {
    if (this.config.databaseEmbedded || !this.config.databaseUrl) return this.sql.query<T>(text, values);
    let client: ResilientPgClient;
    try {
      client = await this.own.get();
    } catch {
      // No connection of its own to be had (the server or the role at its connection limit, the pool
      // holding every slot): this beat takes the pool, where a connection frees up now and then.
      return this.sql.query<T>(text, values);
    }
    try {
      return (await client.query({ text, values })).rows as T[];
    } catch (error) {
      // A statement that failed says little about the connection: a new one costs a beat little.
      this.own.drop();
      throw error;
    }
  }

  /** Closes the connection at once (a statement hanging on it fails with it); the next beat opens another. */
  drop(): void {
    this.own.drop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.own.close();
  }
}
