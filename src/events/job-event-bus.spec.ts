import { beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { InProcessJobEventBus } from './in-process-job-event-bus.js';
import type { ClusterSignal, JobEvent, JobEventBus } from './job-event-bus.js';
import { PUBLISH_CHUNK, RedisJobEventBus, type RedisPublisher, type RedisSubscriber } from './redis-job-event-bus.js';

/** Redis pub/sub in memory: each message reaches every subscriber of its channel a turn after the publish. */
class PubSubInMemory {
  /** Every message published, in order. */
  readonly published: Array<{ channel: string; message: string }> = [];
  private readonly subscribers: Array<{ channels: Set<string>; listeners: Array<(channel: string, message: string) => void> }> = [];

  publisher(): RedisPublisher {
    const send = (channel: string, message: string) => {
      this.published.push({ channel, message });
      for (const s of this.subscribers) {
        if (s.channels.has(channel)) for (const listener of s.listeners) setImmediate(() => listener(channel, message));
      }
    };
    return {
      publish: async (channel, message) => send(channel, message),
      pipeline: () => {
        const queued: Array<[string, string]> = [];
        return {
          publish: (channel, message) => queued.push([channel, message]),
          exec: async () => queued.forEach(([channel, message]) => send(channel, message)),
        };
      },
    };
  }

  /** The connection events ('close', 'ready') of every subscriber, for a test to raise. */
  readonly connection = { close: [] as Array<() => void>, ready: [] as Array<() => void> };

  subscriber(): RedisSubscriber {
    const subscriber = { channels: new Set<string>(), listeners: [] as Array<(channel: string, message: string) => void> };
    this.subscribers.push(subscriber);
    return {
      on: (event: string, listener: (...args: never[]) => void) => {
        if (event === 'message') subscriber.listeners.push(listener as (channel: string, message: string) => void);
        else this.connection[event as 'close' | 'ready'].push(listener as () => void);
      },
      subscribe: async (...channels) => channels.forEach((c) => subscriber.channels.add(c)),
      disconnect: () => this.subscribers.splice(this.subscribers.indexOf(subscriber), 1),
    } as RedisSubscriber;
  }

  /** Sends raw text on a channel, as another program could. */
  inject(channel: string, message: string): void {
    for (const s of this.subscribers) if (s.channels.has(channel)) for (const listener of s.listeners) listener(channel, message);
  }
}

const CHANNEL = 'test:job-events';
// The listener failures and malformed messages provoked here are logged: not while testing.
beforeAll(() => Logger.overrideLogger(false));
const settle = () => new Promise((resolve) => setImmediate(resolve));
const event = (jobId: string, sequence = 1, name: JobEvent['event'] = 'job_created'): JobEvent => ({
  event: name,
  jobId,
  data: { job_id: jobId, type: 'noop', priority: 'normal', status: 'ready', attempt: 0, sequence, timestamp: '2026-01-01T00:00:00.000Z' },
});
const redisBus = (broker: PubSubInMemory) => new RedisJobEventBus(broker.publisher(), () => broker.subscriber(), CHANNEL);

/** Collects what a bus delivers to one listener of each kind. */
function listen(bus: JobEventBus) {
  const events: string[] = [];
  const signals: ClusterSignal[] = [];
  const stopEvents = bus.subscribe((e) => events.push(`${e.jobId}#${e.data.sequence}`));
  const stopSignals = bus.onSignal((s) => signals.push(s));
  return { events, signals, stop: () => (stopEvents(), stopSignals()) };
}

describe.each([
  ['InProcessJobEventBus', () => new InProcessJobEventBus()],
  ['RedisJobEventBus', () => redisBus(new PubSubInMemory())],
])('%s in the publishing process', (_name, makeBus) => {
  it('gives every listener the events in publish order, once, by the time publish returns', async () => {
    const bus = makeBus();
    const [a, b] = [listen(bus), listen(bus)];
    await bus.publish([event('j1', 1), event('j1', 2, 'job_ready')]);
    await bus.publish([event('j2', 1)]);
    expect(a.events).toEqual(['j1#1', 'j1#2', 'j2#1']);
    await settle(); // the echo from the broker, if any, is not delivered again
    expect(b.events).toEqual(['j1#1', 'j1#2', 'j2#1']);
  });

  it('keeps delivering to the other listeners when one throws', async () => {
    const bus = makeBus();
    bus.subscribe(() => {
      throw new Error('listener bug');
    });
    const after = listen(bus);
    await bus.publish([event('j1'), event('j2')]);
    expect(after.events).toEqual(['j1#1', 'j2#1']);
  });

  it('stops delivering to a listener once it unsubscribed', async () => {
    const bus = makeBus();
    const listener = listen(bus);
    await bus.publish([event('j1')]);
    listener.stop();
    await bus.publish([event('j2')]);
    await bus.signal({ kind: 'jobs_waiting' });
    expect(listener.events).toEqual(['j1#1']);
    expect(listener.signals).toEqual([]);
  });

  it('delivers cluster signals to signal listeners only', async () => {
    const bus = makeBus();
    const listener = listen(bus);
    await bus.signal({ kind: 'capacity_freed', workerId: 'w1' });
    expect(listener.signals).toEqual([{ kind: 'capacity_freed', workerId: 'w1' }]);
    expect(listener.events).toEqual([]);
  });
});

describe('RedisJobEventBus between processes', () => {
  it('delivers another process\'s events in order, and its own only once', async () => {
    const broker = new PubSubInMemory();
    const [here, there] = [redisBus(broker), redisBus(broker)];
    const [ours, theirs] = [listen(here), listen(there)];
    await here.publish([event('j1', 1), event('j1', 2, 'job_ready')]);
    await there.publish([event('j2', 1)]);
    await settle();
    expect(ours.events).toEqual(['j1#1', 'j1#2', 'j2#1']);
    expect(theirs.events).toEqual(['j2#1', 'j1#1', 'j1#2']);
  });

  it(`sends up to ${PUBLISH_CHUNK} events in one message, more in several, in order`, async () => {
    const broker = new PubSubInMemory();
    const [here, there] = [redisBus(broker), redisBus(broker)];
    const received = listen(there);
    const many = Array.from({ length: PUBLISH_CHUNK * 2 + 1 }, (_, i) => event('j', i + 1));
    await here.publish(many.slice(0, PUBLISH_CHUNK));
    await here.publish(many.slice(PUBLISH_CHUNK));
    await settle();
    const sizes = broker.published.map((m) => (JSON.parse(m.message) as { message: unknown[] }).message.length);
    expect(sizes).toEqual([PUBLISH_CHUNK, PUBLISH_CHUNK, 1]);
    expect(received.events).toEqual(many.map((e) => `j#${e.data.sequence}`));
  });

  it('publishes nothing for an empty list', async () => {
    const broker = new PubSubInMemory();
    await redisBus(broker).publish([]);
    expect(broker.published).toEqual([]);
  });

  it('carries signals on a channel of their own', async () => {
    const broker = new PubSubInMemory();
    const [here, there] = [redisBus(broker), redisBus(broker)];
    const received = listen(there);
    await here.signal({ kind: 'queues_changed', type: 'noop' });
    await settle();
    expect(broker.published.map((m) => m.channel)).toEqual([`${CHANNEL}:signals`]);
    expect(received.signals).toEqual([{ kind: 'queues_changed', type: 'noop' }]);
    expect(received.events).toEqual([]);
  });

  it('drops a malformed message and goes on with the next', async () => {
    const broker = new PubSubInMemory();
    const bus = redisBus(broker);
    const received = listen(bus);
    broker.inject(CHANNEL, '{not json');
    broker.inject(CHANNEL, JSON.stringify({ origin: 'elsewhere', message: [event('j3')] }));
    expect(received.events).toEqual(['j3#1']);
  });

  it('drops JSON not of the shape it publishes, whatever it is, and goes on with the next', async () => {
    const broker = new PubSubInMemory();
    const bus = redisBus(broker);
    const received = listen(bus);
    for (const raw of ['null', '5', '"x"', '[]', '{}', JSON.stringify({ origin: 'elsewhere', message: { event: 'job_created' } }), JSON.stringify({ origin: 'elsewhere', message: 5 }), JSON.stringify({ origin: 'elsewhere', message: [null, 7, { jobId: 'j0' }] })]) {
      expect(() => broker.inject(CHANNEL, raw)).not.toThrow();
      expect(() => broker.inject(`${CHANNEL}:signals`, raw)).not.toThrow();
    }
    broker.inject(CHANNEL, JSON.stringify({ origin: 'elsewhere', message: [event('j3')] }));
    expect(received.events).toEqual(['j3#1']);
    expect(received.signals).toEqual([]);
  });

  it('drops an event whose data.type is not a string or whose data.sequence is not a positive integer', async () => {
    const broker = new PubSubInMemory();
    const bus = redisBus(broker);
    const received = listen(bus);
    const good = event('j4');
    const bad = [
      { ...good, data: { ...good.data, type: { toString: 1, valueOf: 1 } } },
      { ...good, data: { ...good.data, type: undefined } },
      ...[0, -1, 1.5, '1', null, Number.MAX_VALUE].map((sequence) => ({ ...good, data: { ...good.data, sequence } })),
      { ...good, event: 7 },
      { ...good, jobId: ['j4'] },
    ];
    broker.inject(CHANNEL, JSON.stringify({ origin: 'elsewhere', message: [...bad, good] }));
    expect(received.events).toEqual(['j4#1']);
  });

  it('stops receiving once the module is destroyed', async () => {
    const broker = new PubSubInMemory();
    const [here, there] = [redisBus(broker), redisBus(broker)];
    const received = listen(there);
    await there.onModuleDestroy();
    await here.publish([event('j1')]);
    await settle();
    expect(received.events).toEqual([]);
  });
});

describe('RedisJobEventBus when its subscription is lost and comes back', () => {
  it('tells its gap listeners (events published meanwhile were missed), not at its first connect', async () => {
    const broker = new PubSubInMemory();
    const bus = redisBus(broker);
    let gaps = 0;
    bus.onGap(() => (gaps += 1));
    broker.connection.ready.forEach((f) => f()); // the first connect
    await settle();
    expect(gaps).toBe(0);
    broker.connection.close.forEach((f) => f());
    broker.connection.ready.forEach((f) => f()); // reconnected
    await settle();
    expect(gaps).toBe(1);
  });
});

describe('RedisJobEventBus when a publish fails (Redis away longer than its tries)', () => {
  it('sends the events again, before newer ones: other processes get them late, not never', async () => {
    const broker = new PubSubInMemory();
    const healthy = broker.publisher();
    let down = true;
    const flaky: RedisPublisher = {
      publish: async (channel, message) => {
        if (down) throw new Error('Reached the max retries per request limit');
        return healthy.publish(channel, message);
      },
      pipeline: () => healthy.pipeline(),
    };
    const sender = new RedisJobEventBus(flaky, () => broker.subscriber(), CHANNEL);
    const receiver = redisBus(broker);
    const got: string[] = [];
    receiver.subscribe((e) => got.push(`${e.jobId}#${e.data.sequence}`));
    await settle();
    await expect(sender.publish([event('a', 3, 'job_completed')])).rejects.toThrow();
    down = false;
    await sender.publish([event('b', 1)]);
    await settle();
    await settle();
    expect(got).toEqual(['a#3', 'b#1']);
    await sender.onModuleDestroy();
  });
});
