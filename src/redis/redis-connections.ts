import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';

/** Owns every ioredis connection draconic opens (except Bull's own), and closes them on shutdown. */
export class RedisConnections implements OnModuleDestroy {
  private readonly logger = new Logger(RedisConnections.name);
  private readonly opened: Redis[] = [];
  /** Shared command connection (publish, ping). */
  readonly client: Redis;

  constructor(
    readonly url: string,
    readonly prefix: string,
  ) {
    this.client = this.open('client');
  }

  /** A new connection, e.g. for a pub/sub subscriber (which cannot run commands). */
  open(name: string, options: RedisOptions = {}): Redis {
    const redis = new Redis(this.url, {
      connectionName: `draconic-${name}`,
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      ...options,
    });
    redis.on('error', (error: Error) => this.logger.warn({ err: error.message, connection: name }, 'redis connection error'));
    this.opened.push(redis);
    return redis;
  }

  /** A key or channel name under this deployment's prefix. */
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(
      this.opened.map(async (redis) => {
        try {
          await redis.quit();
        } catch {
          redis.disconnect();
        }
      }),
    );
  }
}
