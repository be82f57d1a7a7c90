import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';

/** How often one connection's errors are logged at most; the ones between are counted in the next line. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/** Owns every ioredis connection draconic opens (except Bull's own), and closes them on shutdown. */
export class RedisConnections implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnections.name);
  private readonly opened: Array<{ redis: Redis; blocking: boolean }> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly errorLog = new Map<string, { at: number; suppressed: number }>();
  /** Shared command connection (publish, ping). */
  readonly client: Redis;

  constructor(
    readonly url: string,
    readonly prefix: string,
    /**
     * REDIS_SOCKET_TIMEOUT_MS: a connection that has received nothing this long after a command was sent is
     * destroyed and opened again (ioredis's `socketTimeout`; 0 = never). A connection that stopped carrying
     * bytes without closing would otherwise hold every command sent on it, and so a publish, a ping or a
     * dispatch, forever; destroyed, it fails them as a dropped connection does, which the callers handle.
     * A blocking connection gets the wait of its blocking command on top (see `open`).
     */
    readonly socketTimeoutMs = 0,
  ) {
    // Commands on the shared connection fail after a few reconnection attempts instead of waiting for
    // Redis forever: a publish, a ping (GET /health answers 503) or a dispatch errors out, and the
    // reconciliation hands placed jobs over again once Redis is back.
    this.client = this.open('client', { maxRetriesPerRequest: 3 });
  }

  /**
   * A new connection, e.g. for a pub/sub subscriber (which cannot run commands) or a blocking consumer.
   * `blockingWaitMs`: the longest a blocking command on it waits for its answer, added to the socket timeout.
   */
  open(name: string, options: RedisOptions = {}, blocking = false, blockingWaitMs = 0): Redis {
    const redis = new Redis(this.url, {
      connectionName: `draconic-${name}`,
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      // TCP keepalive: a connection whose peer is gone is also found out by the kernel (after some minutes).
      keepAlive: 10_000,
      ...(this.socketTimeoutMs > 0 ? { socketTimeout: this.socketTimeoutMs + (blocking ? blockingWaitMs : 0) } : {}),
      ...options,
    });
    redis.on('error', (error: Error) => {
      // A refused SELECT (the database in REDIS_URL does not exist on this server): ioredis would go on
      // on database 0 and write there. The boot refuses such a URL (assertRedisDatabase); a server that
      // was not reachable then is caught here: the connection is closed for good and Redis reads as down.
      if (/DB index/i.test(error.message)) {
        this.logger.error({ err: error.message, connection: name }, 'the Redis server refused the database REDIS_URL names: connection closed; fix REDIS_URL and restart');
        redis.disconnect();
        return;
      }
      this.logError(name, error);
    });
    this.opened.push({ redis, blocking });
    // A connection given a socket timeout of its own (the health probe's) is pinged by its owner.
    if (this.socketTimeoutMs > 0 && !blocking && options.socketTimeout === undefined) this.keepTalking(redis);
    return redis;
  }

  /**
   * The socket timeout only sees connections that send commands: a pub/sub subscriber (or a publisher with
   * nothing to publish) that fell silent would stay dead, its events lost, until TCP keepalive gave up on it,
   * minutes later. A PING (allowed in subscriber mode) every half timeout gives the timeout something to wait
   * on; the connection is then replaced and ioredis subscribes again.
   */
  private keepTalking(redis: Redis): void {
    const timer = setInterval(() => {
      if (redis.status === 'ready') redis.ping().catch(() => undefined);
    }, Math.max(500, Math.floor(this.socketTimeoutMs / 2)));
    timer.unref();
    this.timers.push(timer);
  }

  /** A connection's errors, logged at most once every ERROR_LOG_INTERVAL_MS each (an outage repeats them several times a second). */
  private logError(name: string, error: Error): void {
    const now = Date.now();
    const last = this.errorLog.get(name);
    if (last && now - last.at < ERROR_LOG_INTERVAL_MS) {
      last.suppressed += 1;
      return;
    }
    this.errorLog.set(name, { at: now, suppressed: 0 });
    const more = last?.suppressed ? { suppressed: last.suppressed } : {};
    this.logger.warn({ err: error.message, connection: name, ...more }, 'redis connection error');
  }

  /** A key name under this deployment's prefix (keys live in the URL's database). */
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /**
   * A pub/sub channel name under this deployment's prefix. Redis's pub/sub ignores the database
   * index, so deployments sharing a Redis server under different indexes would hear each other's
   * events: a channel names the index too, unless it is 0 (so a deployment on database 0 keeps the
   * channel names it always had).
   */
  channel(...parts: string[]): string {
    const db = Number(this.client.options.db ?? 0);
    return db === 0 ? this.key(...parts) : this.key(`db${db}`, ...parts);
  }

  /** Last of all (after the modules that use the connections closed their queues and listeners). */
  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.all(
      this.opened.map(async ({ redis, blocking }) => {
        // A QUIT would wait for a blocking command, or for a connection that never came up.
        if (blocking || redis.status !== 'ready') return redis.disconnect();
        try {
          await redis.quit();
        } catch {
          redis.disconnect();
        }
      }),
    );
  }
}
