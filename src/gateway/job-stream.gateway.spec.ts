import 'reflect-metadata';
import { afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';
import type { AppConfig } from '../config/app-config.js';
import type { JobEvent, JobEventBus } from '../events/job-event-bus.js';
import type { JobEventLog } from '../events/job-event-log.js';
import type { JobTypeNames } from '../events/job-type-names.js';
import { MAX_QUEUED_MESSAGES, REPLAY_BACKLOG_ERROR } from './domain/backlog.js';
import { MAX_REPLAYS_IN_FLIGHT, REPLAY_IN_FLIGHT_ERROR, REPLAYS_BUSY_ERROR } from './domain/replay-gate.js';
import { JobStreamGateway, MAIN_NAMESPACE_ERROR } from './job-stream.gateway.js';

const ID = '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e';

/** A Socket.IO socket as the gateway reads it: its engine.io connection's queue and websocket. */
function stubSocket(id: string, queued: Array<{ data?: unknown }> = []) {
  const conn = {
    writeBuffer: queued,
    transport: { name: 'websocket', socket: { bufferedAmount: 0, terminate: jest.fn() } },
    close: jest.fn(),
  };
  return { id, conn, data: {} };
}
type StubSocket = ReturnType<typeof stubSocket>;
const asSocket = (stub: StubSocket) => stub as unknown as Socket;

const event = (jobId: string, sequence: number, type: unknown = 'noop'): JobEvent =>
  ({ event: 'job_progress', jobId, data: { job_id: jobId, type, priority: 'normal', status: 'running', attempt: 1, sequence, timestamp: '' } }) as JobEvent;

/** The gateway on stub ports and a stub namespace that records what it emits. */
function harness(eventsSince: JobEventLog['eventsSince'] = async () => ({ events: [], more: false })) {
  let relay: (event: JobEvent) => void = () => undefined;
  let gap: () => void = () => undefined;
  const bus = {
    subscribe: (listener: typeof relay) => ((relay = listener), () => undefined),
    onSignal: () => () => undefined,
    onGap: (listener: () => void) => ((gap = listener), () => undefined),
  } as unknown as JobEventBus;
  const sent: string[] = [];
  const mainNamespace: Array<(socket: unknown, next: (error?: Error) => void) => void> = [];
  const sockets = new Map<string, StubSocket>();
  const namespace = {
    server: { engine: { on: () => undefined, opts: {} }, of: (name: string) => ({ use: (fn: (typeof mainNamespace)[number]) => name === '/' && mainNamespace.push(fn) }) },
    use: () => undefined,
    sockets,
    local: { to: () => ({ emit: (_name: string, update: { job_id: string; data: { sequence: number } }) => sent.push(`${update.job_id}#${update.data.sequence}`) }) },
  };
  const config = { apiKeys: [], maxBatchJobs: 10_000, http: { maxStreamConnectionsPerAddress: 0 } } as unknown as AppConfig;
  const types = { has: () => true, types: () => ['noop'] } as JobTypeNames;
  const gateway = new JobStreamGateway(config, bus, { eventsSince } as JobEventLog, types);
  (gateway as unknown as { server: unknown }).server = namespace; // Nest sets it (@WebSocketServer)
  gateway.afterInit(namespace as unknown as Namespace);
  return { gateway, relay: (e: JobEvent) => relay(e), gap: () => gap(), sent, sockets, mainNamespace };
}

beforeAll(() => Logger.overrideLogger(false));
beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('JobStreamGateway', () => {
  it('sends the rest of a held batch when one of its events cannot be sent, and nothing escapes the timer', () => {
    const h = harness();
    h.sockets.set('s1', stubSocket('s1'));
    h.relay(event('a', 1));
    h.relay(event('a', 3, { toString: 1, valueOf: 1 })); // held for the missing 2; String() of it throws
    h.relay(event('b', 1));
    h.relay(event('b', 3)); // held too, flushed after a#3
    expect(() => jest.advanceTimersByTime(500)).not.toThrow();
    expect(h.sent).toEqual(['a#1', 'b#1', 'b#3']);
    h.gateway.onModuleDestroy();
  });

  it('holds an event by the monotonic clock: a wall clock set back does not keep it held', () => {
    const h = harness();
    h.sockets.set('s1', stubSocket('s1'));
    h.relay(event('a', 1));
    h.relay(event('a', 3)); // held for the missing 2
    jest.setSystemTime(Date.now() - 60_000); // NTP steps the wall clock back a minute
    jest.advanceTimersByTime(500);
    expect(h.sent).toEqual(['a#1', 'a#3']);
    h.gateway.onModuleDestroy();
  });

  it('disconnects every client when the bus missed events (its subscription was lost): they reconnect and replay', () => {
    const h = harness();
    const [one, two] = [stubSocket('one'), stubSocket('two')];
    h.sockets.set('one', one);
    h.sockets.set('two', two);
    h.gap();
    expect(one.conn.close).toHaveBeenCalledWith(true);
    expect(two.conn.close).toHaveBeenCalledWith(true);
    h.gateway.onModuleDestroy();
  });

  it('disconnects a client with more messages queued than it can have read, and only that one', () => {
    const h = harness();
    const behind = stubSocket('behind', Array.from({ length: MAX_QUEUED_MESSAGES + 1 }, () => ({ data: '2["job_update",{}]' })));
    const reading = stubSocket('reading', Array.from({ length: 100 }, () => ({ data: '2["job_update",{}]' })));
    h.sockets.set('behind', behind);
    h.sockets.set('reading', reading);
    jest.advanceTimersByTime(150);
    expect(behind.conn.close).toHaveBeenCalledWith(true);
    expect(behind.conn.transport.socket.terminate).toHaveBeenCalled();
    expect(reading.conn.close).not.toHaveBeenCalled();
    h.gateway.onModuleDestroy();
  });

  it('disconnects a client whose websocket holds more than 16 MiB unsent', () => {
    const h = harness();
    const behind = stubSocket('behind');
    behind.conn.transport.socket.bufferedAmount = 16 * 1024 * 1024 + 1;
    h.sockets.set('behind', behind);
    jest.advanceTimersByTime(150);
    expect(behind.conn.close).toHaveBeenCalledWith(true);
    h.gateway.onModuleDestroy();
  });

  it('refuses a replay while over 1 MB waits to reach the client', async () => {
    const h = harness();
    const socket = stubSocket('s1', [{ data: 'x'.repeat(1024 * 1024 + 1) }]);
    expect(await h.gateway.onReplay(asSocket(socket), { job_id: ID })).toEqual({ ok: false, error: REPLAY_BACKLOG_ERROR });
    socket.conn.writeBuffer.length = 0;
    expect(await h.gateway.onReplay(asSocket(socket), { job_id: ID })).toEqual({ ok: true, job_id: ID, events: [] });
    h.gateway.onModuleDestroy();
  });

  it('answers one replay of a connection at a time, and a few per process', async () => {
    const pending: Array<() => void> = [];
    const h = harness(() => new Promise((resolve) => pending.push(() => resolve({ events: [], more: false }))));
    const [first, ...others] = Array.from({ length: MAX_REPLAYS_IN_FLIGHT + 1 }, (_, i) => stubSocket(`s${i}`));
    const answers = [h.gateway.onReplay(asSocket(first!), { job_id: ID }), h.gateway.onReplay(asSocket(first!), { job_id: ID })];
    expect(await answers[1]).toEqual({ ok: false, error: REPLAY_IN_FLIGHT_ERROR });
    const more = others.map((socket) => h.gateway.onReplay(asSocket(socket), { job_id: ID }));
    expect(await more.at(-1)).toEqual({ ok: false, error: REPLAYS_BUSY_ERROR });
    for (const answer of pending.splice(0)) answer();
    expect(await answers[0]).toEqual({ ok: true, job_id: ID, events: [] });
    expect(await Promise.all(more.slice(0, -1))).toEqual(others.slice(0, -1).map(() => ({ ok: true, job_id: ID, events: [] })));
    // Answered: the connection may replay again.
    const again = h.gateway.onReplay(asSocket(first!), { job_id: ID });
    pending.shift()!();
    expect(await again).toEqual({ ok: true, job_id: ID, events: [] });
    h.gateway.onModuleDestroy();
  });

  it('refuses every client of the main namespace, naming /jobs/stream', () => {
    const h = harness();
    const next = jest.fn();
    expect(h.mainNamespace).toHaveLength(1);
    h.mainNamespace[0]!({}, next);
    expect(next).toHaveBeenCalledWith(new Error(MAIN_NAMESPACE_ERROR));
  });
});
