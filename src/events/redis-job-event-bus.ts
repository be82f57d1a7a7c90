import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { JobEventBus, type ClusterSignal, type JobEvent } from './job-event-bus.js';

/** Most events in one pub/sub message. */
export const PUBLISH_CHUNK = 500;

/** What the bus needs of the connection it publishes on (an ioredis client). */
export interface RedisPublisher {
  publish(channel: string, message: string): Promise<unknown>;
  pipeline(): { publish(channel: string, message: string): unknown; exec(): Promise<unknown> };
}

/** What the bus needs of the connection it subscribes on (an ioredis client of its own). */
export interface RedisSubscriber {
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  subscribe(...channels: string[]): Promise<unknown>;
  disconnect(): void;
}

/**
 * JobEventBus over Redis pub/sub: one channel for job events (`<REDIS_PREFIX>:job-events`) and one
 * for cluster signals. The events of one call travel together, in order: `{origin, message: [event, ...]}`.
 * Listeners in the publishing process get the events at once, without the round trip through
 * Redis (the scheduler reacts to a local submit in microseconds); the echo from Redis of a
 * process's own messages is skipped, recognised by the origin id every message carries.
 */
export class RedisJobEventBus extends JobEventBus implements OnModuleDestroy {
  private readonly logger = new Logger(RedisJobEventBus.name);
  private readonly listeners = new Set<(value: never) => void>();
  private readonly signalListeners = new Set<(value: never) => void>();
  private subscriber?: RedisSubscriber;
  private readonly signalChannel: string;
  private readonly origin = randomUUID();
  /** How this process's own messages start on the wire (checked before parsing them). */
  private readonly ownPrefix = `{"origin":"${this.origin}"`;

  constructor(
    private readonly publisher: RedisPublisher,
    private readonly makeSubscriber: () => RedisSubscriber,
    private readonly channel: string,
  ) {
    super();
    this.signalChannel = `${channel}:signals`;
  }

  async publish(events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const event of events) this.deliverTo(this.listeners, event);
    // One message carries up to PUBLISH_CHUNK events: far fewer Redis commands for batches, and a
    // subscriber gets them in order.
    if (events.length <= PUBLISH_CHUNK) {
      await this.publisher.publish(this.channel, this.wrap(events));
      return;
    }
    const pipeline = this.publisher.pipeline();
    for (let i = 0; i < events.length; i += PUBLISH_CHUNK) pipeline.publish(this.channel, this.wrap(events.slice(i, i + PUBLISH_CHUNK)));
    await pipeline.exec();
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener as (value: never) => void);
    this.ensureSubscriber();
    return () => this.listeners.delete(listener as (value: never) => void);
  }

  async signal(signal: ClusterSignal): Promise<void> {
    this.deliverTo(this.signalListeners, signal);
    await this.publisher.publish(this.signalChannel, this.wrap(signal));
  }

  private wrap(message: unknown): string {
    return JSON.stringify({ origin: this.origin, message });
  }

  onSignal(listener: (signal: ClusterSignal) => void): () => void {
    this.signalListeners.add(listener as (value: never) => void);
    this.ensureSubscriber();
    return () => this.signalListeners.delete(listener as (value: never) => void);
  }

  private ensureSubscriber(): void {
    if (this.subscriber) return;
    const subscriber = this.makeSubscriber();
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
    void subscriber.subscribe(this.channel, this.signalChannel).catch((error: unknown) => {
      this.logger.error({ err: error }, 'cannot subscribe to the job event channels');
    });
  }

  private deliver(channel: string, raw: string): void {
    if (raw.startsWith(this.ownPrefix)) return; // delivered locally already
    let parsed: { origin?: string; message?: unknown };
    try {
      parsed = JSON.parse(raw) as { origin?: string; message?: unknown };
    } catch (error) {
      this.logger.warn({ err: error, channel }, 'dropped a malformed message');
      return;
    }
    if (parsed.origin === this.origin || parsed.message === undefined) return; // delivered locally already
    if (channel === this.channel) {
      for (const event of parsed.message as JobEvent[]) this.deliverTo(this.listeners, event);
    } else {
      this.deliverTo(this.signalListeners, parsed.message);
    }
  }

  private deliverTo(listeners: Set<(value: never) => void>, message: unknown): void {
    for (const listener of listeners) {
      try {
        listener(message as never);
      } catch (error) {
        this.logger.error({ err: error }, 'job event listener failed');
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.listeners.clear();
    this.signalListeners.clear();
    this.subscriber?.disconnect();
  }
}
