import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import { JobEventBus } from '../../src/events/job-event-bus.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Redis keeps no pub/sub message for a subscriber that is away: when an instance's subscription to the
 * job events drops and comes back, the events of other processes published meanwhile are gone for its
 * clients. A client whose own connection never dropped could not know it should replay: the instance
 * disconnects its clients, which reconnect (and replay, DESIGN §7).
 */

let app: TestApp;
let client: Socket;

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('live_gap'), { ROLE: 'api' });
});

afterAll(async () => {
  client?.close();
  await app?.close();
});

describe("an instance whose subscription to the job events dropped and came back", () => {
  it('disconnects its clients, which reconnect', async () => {
    client = io(`${app.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 200 });
    const reasons: string[] = [];
    let connects = 0;
    client.on('connect', () => (connects += 1));
    client.on('disconnect', (reason) => reasons.push(reason));
    await expectEventually(() => expect(connects).toBe(1));
    // The subscriber's connection drops (a Redis restart, CLIENT KILL, an output buffer over its limit).
    const subscriber = (app.app.get(JobEventBus) as unknown as { subscriber: { disconnect(reconnect: boolean): void } }).subscriber;
    subscriber.disconnect(true);
    await expectEventually(() => expect(connects).toBe(2), { timeoutMs: 10_000 });
    expect(reasons).toEqual(['transport close']);
  });
});
