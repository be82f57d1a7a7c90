import { ResilientPgClient, type ResilientPgClientConfig } from './resilient-pg-client.js';

/**
 * One PostgreSQL connection of its own, outside the pool, for what must not wait behind a full pool (the
 * health probe, a worker's heartbeats). Opened on first use (`get`, one opening at a time), forgotten when
 * it ends, closed at once by `drop` (a statement hanging on it fails with it: the next `get` opens
 * another), and refused after `close`.
 */
export class OwnConnection {
  private client?: ResilientPgClient;
  private connecting?: Promise<ResilientPgClient>;
  private closed = false;

  constructor(private readonly config: ResilientPgClientConfig) {}

  get(connectionTimeoutMillis = this.config.connectionTimeoutMillis): Promise<ResilientPgClient> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new ResilientPgClient({ ...this.config, connectionTimeoutMillis });
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
        throw new Error('the connection is closed: the process is stopping');
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Closes the connection at once; the next `get` opens another. */
  drop(): void {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    void client.end().catch(() => undefined);
  }

  /** Ends the connection gracefully, and opens none from now on. */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
