import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';

/** Owns every ioredis connection draconic opens (except Bull's own), and closes them on shutdown. */
export class RedisConnections implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnections.name);
  private readonly opened: Array<{ redis: Redis; blocking: boolean }> = [];
  /** Shared command connection (publish, ping). */
  readonly client: Redis;

  constructor(
    readonly url: string,
    readonly prefix: string,
  ) {
    this.client = this.open('client');
  }

  /** A new connection, e.g. for a pub/sub subscriber (which cannot run commands) or a blocking consumer. */
  open(name: string, options: RedisOptions = {}, blocking = false): Redis {
    const redis = new Redis(this.url, {
      connectionName: `draconic-${name}`,
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      ...options,
    });
    redis.on('error', (error: Error) => this.logger.warn({ err: error.message, connection: name }, 'redis connection error'));
    this.opened.push({ redis, blocking });
    return redis;
  }

  /** A key or channel name under this deployment's prefix. */
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /** Last of all (after the modules that use the connections closed their queues and listeners). */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.opened.map(async ({ redis, blocking }) => {
        if (blocking) return redis.disconnect(); // a QUIT would wait for the blocking command
        try {
          await redis.quit();
        } catch {
          redis.disconnect();
        }
      }),
    );
  }
}
