import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { JobEventBus, type ClusterSignal, type JobEvent } from './job-event-bus.js';

/** Most events in one pub/sub message. */
export const PUBLISH_CHUNK = 500;
/** Most events kept for sending again after their publish failed, and how often they are tried. */
export const MAX_UNSENT = 100_000;
const RESEND_MS = 1000;

/** What the bus needs of the connection it publishes on (an ioredis client). */
export interface RedisPublisher {
  publish(channel: string, message: string): Promise<unknown>;
  pipeline(): { publish(channel: string, message: string): unknown; exec(): Promise<unknown> };
}

/** What the bus needs of the connection it subscribes on (an ioredis client of its own). */
export interface RedisSubscriber {
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** 'close': the connection was lost; 'ready': it is (back) up, its subscriptions sent again right after. */
  on(event: 'close' | 'ready', listener: () => void): unknown;
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
  private readonly gapListeners = new Set<() => void>();
  /** Events whose publish failed, oldest first (keep). */
  private readonly unsent: JobEvent[] = [];
  private resendTimer?: NodeJS.Timeout;
  private resending: Promise<void> | null = null;
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

  /**
   * Delivered here first (the scheduler of this process reacts to its own submits and completions
   * without waiting for Redis), then sent. Another process may meanwhile publish the next event of the
   * same job ahead of these: the gateway still delivers the earlier one when it comes (EventOrder).
   */
  async publish(events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const event of events) this.deliverTo(this.listeners, event);
    if (this.unsent.length > 0) {
      // Older events wait to be sent again: these go after them.
      this.keep(events);
      return this.resend();
    }
    try {
      await this.send(events);
    } catch (error) {
      this.keep(events);
      throw error;
    }
  }

  /**
   * Events whose publish failed (Redis away longer than the publishing connection's tries) are kept, at
   * most MAX_UNSENT, and sent again in order, before any newer ones: every second, and with the next
   * publish. Other processes' listeners get them late rather than never (the gateway puts each job's
   * events back in sequence, and delivers a late one that it had given up waiting for).
   */
  private keep(events: readonly JobEvent[]): void {
    this.unsent.push(...events);
    if (this.unsent.length > MAX_UNSENT) {
      const dropped = this.unsent.splice(0, this.unsent.length - MAX_UNSENT);
      this.logger.error({ dropped: dropped.length }, 'job events kept for sending again exceeded their bound: the oldest were dropped (replay still reads them)');
    }
    if (!this.resendTimer) {
      this.resendTimer = setInterval(() => void this.resend().catch(() => undefined), RESEND_MS);
      this.resendTimer.unref();
    }
  }

  private resend(): Promise<void> {
    this.resending ??= (async () => {
      try {
        let sent = 0;
        while (this.unsent.length > 0) {
          const batch = this.unsent.slice(0, PUBLISH_CHUNK * 20);
          await this.send(batch);
          this.unsent.splice(0, batch.length);
          sent += batch.length;
        }
        clearInterval(this.resendTimer);
        this.resendTimer = undefined;
        this.logger.log({ events: sent }, 'sent again the job events whose publish had failed');
      } finally {
        this.resending = null;
      }
    })();
    return this.resending;
  }

  /** One message carries up to PUBLISH_CHUNK events: far fewer Redis commands for batches, and a subscriber gets them in order. */
  private async send(events: readonly JobEvent[]): Promise<void> {
    if (events.length <= PUBLISH_CHUNK) {
      await this.publisher.publish(this.channel, this.wrap(events));
      return;
    }
    const pipeline = this.publisher.pipeline();
    for (let i = 0; i < events.length; i += PUBLISH_CHUNK) pipeline.publish(this.channel, this.wrap(events.slice(i, i + PUBLISH_CHUNK)));
    // A pipeline answers each command's failure in its results rather than rejecting.
    const results = (await pipeline.exec()) as Array<[Error | null, unknown]> | null;
    const failed = results?.find(([error]) => error !== null);
    if (failed) throw failed[0];
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

  override onGap(listener: () => void): () => void {
    this.gapListeners.add(listener);
    this.ensureSubscriber();
    return () => this.gapListeners.delete(listener);
  }

  private ensureSubscriber(): void {
    if (this.subscriber) return;
    const subscriber = this.makeSubscriber();
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
    // Pub/sub keeps nothing for a subscriber that is away: whatever was published while the connection
    // was down (a Redis restart, a killed client, an output buffer over its limit) is gone. Said once it
    // is back (the client subscribes again as it becomes ready, before the listeners hear of it).
    let lost = false;
    subscriber.on('close', () => (lost = true));
    subscriber.on('ready', () => {
      if (!lost) return;
      lost = false;
      this.logger.warn('the job event subscription was lost and is back: events published meanwhile were missed');
      setImmediate(() => {
        for (const listener of this.gapListeners) {
          try {
            listener();
          } catch (error) {
            this.logger.error({ err: error }, 'job event gap listener failed');
          }
        }
      });
    });
    void subscriber.subscribe(this.channel, this.signalChannel).catch((error: unknown) => {
      this.logger.error({ err: error }, 'cannot subscribe to the job event channels');
    });
  }

  /**
   * A message from the channels. Anything not of the shape this service publishes (another version or
   * deployment on the same prefix, a hand-typed PUBLISH) is dropped with a warning: it is delivered
   * inside the Redis client's socket handler, where a throw would end the process.
   */
  private deliver(channel: string, raw: string): void {
    if (raw.startsWith(this.ownPrefix)) return; // delivered locally already
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      this.logger.warn({ err: error, channel }, 'dropped a malformed message');
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return this.dropped(channel);
    const { origin, message } = parsed as { origin?: unknown; message?: unknown };
    if (origin === this.origin) return; // delivered locally already
    if (channel === this.channel) {
      if (!Array.isArray(message)) return this.dropped(channel);
      for (const event of message) {
        if (isJobEvent(event)) this.deliverTo(this.listeners, event);
        else this.dropped(channel);
      }
    } else if (typeof message === 'object' && message !== null && typeof (message as { kind?: unknown }).kind === 'string') {
      this.deliverTo(this.signalListeners, message);
    } else {
      this.dropped(channel);
    }
  }

  private dropped(channel: string): void {
    this.logger.warn({ channel }, 'dropped a message not of the shape this service publishes');
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
    clearInterval(this.resendTimer);
    this.listeners.clear();
    this.signalListeners.clear();
    this.subscriber?.disconnect();
  }
}

/**
 * The fields listeners read of a job event, of the types they read them as: the gateway routes by
 * `data.type` and orders by `data.sequence` (job_event_data: the job's type, and its event_seq, 1 and up).
 */
function isJobEvent(value: unknown): value is JobEvent {
  if (typeof value !== 'object' || value === null) return false;
  const { event, jobId, data } = value as { event?: unknown; jobId?: unknown; data?: unknown };
  if (typeof event !== 'string' || typeof jobId !== 'string' || typeof data !== 'object' || data === null) return false;
  const { type, sequence } = data as { type?: unknown; sequence?: unknown };
  return typeof type === 'string' && Number.isSafeInteger(sequence) && (sequence as number) > 0;
}
