import Bull from 'bull';
import type { Redis } from 'ioredis';
import { RedisConnections } from '../redis/redis-connections.js';

/**
 * Builds Bull queues that share this process's Redis connections (one command connection and one
 * subscriber for all queues; a blocking connection of its own per consumer, as Bull requires).
 */
/** How long a consumer's blocking read (BRPOPLPUSH) waits for a job before it asks again, in seconds. */
const DRAIN_DELAY_S = 5;

export class BullQueues {
  private subscriber?: Redis;

  constructor(readonly redis: RedisConnections) {}

  create(name: string): Bull.Queue {
    return new Bull(name, this.options());
  }

  /** Options of every draconic queue (for @nestjs/bull's registerQueueAsync too). */
  options(): Bull.QueueOptions {
    return {
      prefix: this.redis.prefix,
      createClient: (type) => {
        if (type === 'client') return this.redis.client;
        if (type === 'subscriber') {
          this.subscriber ??= this.redis.open('bull-subscriber', { enableReadyCheck: false });
          return this.subscriber;
        }
        return this.redis.open('bull-blocking', { enableReadyCheck: false }, true, DRAIN_DELAY_S * 1000);
      },
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true },
      // Retries, timeouts and lost workers belong to draconic's state machine, not to Bull.
      settings: { maxStalledCount: 0, drainDelay: DRAIN_DELAY_S },
    };
  }
}
