import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { JobEventBus, type ClusterSignal, type JobEvent } from './job-event-bus.js';

/**
 * JobEventBus over Redis pub/sub: one channel for job events (`<REDIS_PREFIX>:job-events`) and one
 * for cluster signals. Events of one call are published in one pipeline, so their order holds.
 */
export class RedisJobEventBus extends JobEventBus implements OnModuleDestroy {
  private readonly logger = new Logger(RedisJobEventBus.name);
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private readonly signalListeners = new Set<(signal: ClusterSignal) => void>();
  private subscriber?: Redis;
  private subscribing?: Promise<unknown>;
  private readonly signalChannel: string;

  constructor(
    private readonly publisher: Redis,
    private readonly makeSubscriber: () => Redis,
    private readonly channel: string,
  ) {
    super();
    this.signalChannel = `${channel}:signals`;
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
    this.ensureSubscriber();
    return () => this.listeners.delete(listener);
  }

  async signal(signal: ClusterSignal): Promise<void> {
    await this.publisher.publish(this.signalChannel, JSON.stringify(signal));
  }

  onSignal(listener: (signal: ClusterSignal) => void): () => void {
    this.signalListeners.add(listener);
    this.ensureSubscriber();
    return () => this.signalListeners.delete(listener);
  }

  /** Resolves once the subscription is active, so nothing published after it is missed. */
  async ready(): Promise<void> {
    this.ensureSubscriber();
    await this.subscribing;
  }

  private ensureSubscriber(): void {
    if (this.subscriber) return;
    const subscriber = this.makeSubscriber();
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
    this.subscribing = subscriber.subscribe(this.channel, this.signalChannel).catch((error: unknown) => {
      this.logger.error({ err: error }, 'cannot subscribe to the job event channels');
    });
  }

  private deliver(channel: string, message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch (error) {
      this.logger.warn({ err: error, channel }, 'dropped a malformed message');
      return;
    }
    const listeners: Set<(value: never) => void> = channel === this.channel ? this.listeners : this.signalListeners;
    for (const listener of listeners) {
      try {
        listener(parsed as never);
      } catch (error) {
        this.logger.error({ err: error, channel }, 'job event listener failed');
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.listeners.clear();
    this.signalListeners.clear();
    this.subscriber?.disconnect();
  }
}
