import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { JobEventBus, type JobEvent } from './job-event-bus.js';

/**
 * JobEventBus over Redis pub/sub: one channel per deployment (`<REDIS_PREFIX>:job-events`).
 * Events are published in one pipeline per call, so the order of one caller's events holds.
 */
export class RedisJobEventBus extends JobEventBus implements OnModuleDestroy {
  private readonly logger = new Logger(RedisJobEventBus.name);
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private subscriber?: Redis;
  private subscribing?: Promise<unknown>;

  constructor(
    private readonly publisher: Redis,
    private readonly makeSubscriber: () => Redis,
    private readonly channel: string,
  ) {
    super();
  }

  async publish(events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (events.length === 1) {
      await this.publisher.publish(this.channel, JSON.stringify(events[0]));
      return;
    }
    const pipeline = this.publisher.pipeline();
    for (const event of events) pipeline.publish(this.channel, JSON.stringify(event));
    await pipeline.exec();
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.subscriber) {
      const subscriber = this.makeSubscriber();
      this.subscriber = subscriber;
      subscriber.on('message', (_channel: string, message: string) => this.deliver(message));
      this.subscribing = subscriber.subscribe(this.channel).catch((error: unknown) => {
        this.logger.error({ err: error }, 'cannot subscribe to the job event channel');
      });
    }
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the subscription is active, so nothing published after it is missed. */
  async ready(): Promise<void> {
    await this.subscribing;
  }

  private deliver(message: string): void {
    let event: JobEvent;
    try {
      event = JSON.parse(message) as JobEvent;
    } catch (error) {
      this.logger.warn({ err: error }, 'dropped a malformed job event');
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, jobId: event.jobId, event: event.event }, 'job event listener failed');
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.listeners.clear();
    this.subscriber?.disconnect();
  }
}
