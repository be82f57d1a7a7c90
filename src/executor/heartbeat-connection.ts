import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { applicationName } from '../database/data-source-options.js';
import { ResilientPgClient } from '../database/resilient-pg-client.js';
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
  private client?: ResilientPgClient;
  private connecting?: Promise<ResilientPgClient>;
  private closed = false;

  constructor(
    private readonly config: AppConfig,
    private readonly sql: Sql,
  ) {}

  async query<T = Record<string, unknown>>(text: string, values: unknown[]): Promise<T[]> {
    if (this.config.databaseEmbedded || !this.config.databaseUrl) return this.sql.query<T>(text, values);
    let client: ResilientPgClient;
    try {
      client = await this.connection();
    } catch {
      // No connection of its own to be had (the server or the role at its connection limit, the pool
      // holding every slot): this beat takes the pool, where a connection frees up now and then.
      return this.sql.query<T>(text, values);
    }
    try {
      return (await client.query({ text, values })).rows as T[];
    } catch (error) {
      // A statement that failed says little about the connection: a new one costs a beat little.
      this.drop();
      throw error;
    }
  }

  /** Closes the connection at once (a statement hanging on it fails with it); the next beat opens another. */
  drop(): void {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    void client.end().catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    this.drop();
  }

  private connection(): Promise<ResilientPgClient> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new ResilientPgClient({
        connectionString: this.config.databaseUrl,
        application_name: `${applicationName(this.config)}-heartbeat`.slice(0, 63),
        connectionTimeoutMillis: Math.min(this.config.dbConnectTimeoutMs, 1000), // a beat has a few seconds in all
        keepAlive: true,
        options: this.config.dbQueryTimeoutMs > 0 ? `-c statement_timeout=${this.config.dbQueryTimeoutMs}` : undefined,
      });
      client.on('end', () => {
        if (this.client === client) this.client = undefined;
      });
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        throw new Error('the heartbeat connection is closed: the process is stopping');
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }
}
