import { Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayInit,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { ApiKeyRing } from '../common/http/api-keys.js';
import { AppConfig } from '../config/app-config.js';
import { JobEventBus, type JobEvent } from '../events/job-event-bus.js';
import { JobEventLog } from '../events/job-event-log.js';
import { JobTypeNames } from '../events/job-type-names.js';
import { fallenBehind, queuedMessagesLimit, replayBacklogError, type EngineConnection } from './domain/backlog.js';
import { guardEngine } from './engine-guards.js';
import { EventOrder } from './domain/event-order.js';
import { ReplayGate } from './domain/replay-gate.js';
import { MESSAGE_BURST, MESSAGES_PER_SECOND, MessageBudget, OVER_BUDGET_ERROR } from './domain/message-budget.js';
import { sendWebSocketFlushesInOneWrite } from './websocket-flushes.js';
import {
  EMPTY,
  EVERY_JOB_NOTE,
  isAll,
  parseFilter,
  roomsFor,
  roomsForSchedule,
  roomsOf,
  subscribe,
  unsubscribe,
  view,
  type Filter,
  type Subscriptions,
} from './domain/subscriptions.js';

/** The wire shape of a job update (DESIGN §7). */
export interface JobUpdate {
  type: 'job_update';
  event: JobEvent['event'];
  job_id: string;
  data: JobEvent['data'];
}

type Ack = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** The messages a client may send (each answered through its acknowledgement). */
const MESSAGES = new Set(['subscribe', 'unsubscribe', 'replay']);

/** The highest event sequence a job can have (a PostgreSQL integer). */
const MAX_SEQUENCE = 2 ** 31 - 1;

/** The answer to a client of the main namespace, which serves nothing. */
export const MAIN_NAMESPACE_ERROR = 'nothing is served on the main namespace "/": connect to the namespace /jobs/stream (io("http://<host>/jobs/stream"))';

/**
 * Disconnects a client at once, dropping what is queued for it: a plain close would wait for that queue
 * to drain, which it never does. The websocket's TCP connection ends too, rather than after ws's 30 s
 * close handshake. The client sees its connection end (not a server-side disconnect), so Socket.IO
 * clients reconnect by themselves.
 */
function cutOff(conn: EngineConnection & { close(discard: boolean): void }): void {
  const websocket = conn.transport.name === 'websocket' ? (conn.transport.socket as { terminate?(): void } | undefined) : undefined;
  conn.close(true);
  websocket?.terminate?.();
}

const toUpdate = (e: JobEvent): JobUpdate => ({ type: 'job_update', event: e.event, job_id: e.jobId, data: e.data });

/**
 * Live updates on `/jobs/stream` (DESIGN §7): relays the JobEventBus to Socket.IO rooms, in
 * sequence order per job, with filters, acknowledged (un)subscriptions and catch-up from
 * PostgreSQL. It decides nothing about jobs.
 */
@WebSocketGateway({ namespace: '/jobs/stream' })
export class JobStreamGateway implements OnGatewayInit, OnGatewayConnection, OnModuleDestroy {
  private readonly logger = new Logger(JobStreamGateway.name);
  @WebSocketServer() private readonly server!: Namespace;
  private readonly order = new EventOrder<{ jobId: string; sequence: number; event: JobEvent }>();
  private unsubscribe?: () => void;
  private unsubscribeSchedules?: () => void;
  private unsubscribeGap?: () => void;
  private flushTimer?: NodeJS.Timeout;
  private readonly replays = new ReplayGate();
  private readonly maxQueued: number;

  constructor(
    private readonly config: AppConfig,
    private readonly bus: JobEventBus,
    private readonly eventLog: JobEventLog,
    private readonly jobTypes: JobTypeNames,
  ) {
    this.maxQueued = queuedMessagesLimit(config.maxBatchJobs);
  }

  /** Why a filter's types are refused (one the service does not know), or null. */
  private unknownType(filter: Filter): string | null {
    const unknown = filter.types.find((t) => !this.jobTypes.has(t));
    return unknown === undefined ? null : `unknown job type "${unknown}"; the known ones: ${this.jobTypes.types().join(', ')}`;
  }

  afterInit(namespace: Namespace): void {
    const engine = namespace.server.engine;
    sendWebSocketFlushesInOneWrite(engine);
    guardEngine(engine, this.config.http.maxStreamConnectionsPerAddress);
    // The main namespace serves nothing: a client that left out the namespace is told so, and nobody
    // holds a connection there, with or without an API key.
    namespace.server.of('/').use((_socket, next) => next(new Error(MAIN_NAMESPACE_ERROR)));
    // Every role may read the stream: a valid key is all the handshake needs.
    const keys = new ApiKeyRing(this.config.apiKeys);
    namespace.use((socket, next) => {
      if (keys.isOpen) return next();
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      if (typeof token === 'string' && keys.identify(token)) return next();
      next(new Error(token === undefined ? 'missing API key: connect with auth: {token: "<key>"}' : 'invalid API key'));
      // The refusal is sent, then the connection closes: a client trying keys must open a connection for
      // each (counted per address), rather than send thousands of tries a second down one.
      setImmediate(() => socket.conn.close());
    });
    namespace.use((socket, next) => {
      const { job_id, type, schedule_id } = socket.handshake.query;
      const filter = parseFilter({ job_id, type, schedule_id }, { requireOne: false });
      if ('error' in filter) return next(new Error(`bad filter in the handshake query: ${filter.error}`));
      const unknown = this.unknownType(filter);
      if (unknown) return next(new Error(`bad filter in the handshake query: ${unknown}`));
      (socket.data as { subscriptions: Subscriptions }).subscriptions = {
        jobIds: new Set(filter.jobIds),
        types: new Set(filter.types),
        scheduleIds: new Set(filter.scheduleIds),
      };
      next();
    });
    this.unsubscribe = this.bus.subscribe((event) => this.relay(event));
    // Events of other processes were missed (this instance's subscription to them was lost): every client
    // is disconnected, to reconnect and replay (DESIGN §7); one that keeps its connection could not know.
    this.unsubscribeGap = this.bus.onGap(() => this.cutOffAll());
    // Schedule updates (DESIGN §15) ride the signal channel; every instance relays them to its own clients.
    this.unsubscribeSchedules = this.bus.onSignal((signal) => {
      if (signal.kind !== 'schedule_update' || this.server.sockets.size === 0) return;
      const { event, scheduleId, data } = signal.update;
      this.server.local.to(roomsForSchedule(scheduleId)).emit('schedule_update', { type: 'schedule_update', event, schedule_id: scheduleId, data });
    });
    this.flushTimer = setInterval(() => this.tick(), 100);
    this.flushTimer.unref();
  }

  handleConnection(socket: Socket): void {
    void socket.join(roomsOf(this.subscriptionsOf(socket)));
    // A message this namespace does not take, sent with an acknowledgement, is answered rather than
    // left to the client's timeout.
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = args.at(-1);
      if (typeof ack !== 'function' || (typeof event === 'string' && MESSAGES.has(event))) return;
      if (!this.withinBudget(socket)) return (ack as (answer: Ack) => void)({ ok: false, error: OVER_BUDGET_ERROR });
      (ack as (answer: Ack) => void)({ ok: false, error: `unknown message "${String(event).slice(0, 100)}": this namespace takes ${[...MESSAGES].join(', ')}` });
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.unsubscribeGap?.();
    this.unsubscribeSchedules?.();
    if (this.flushTimer) clearInterval(this.flushTimer);
  }

  @SubscribeMessage('subscribe')
  onSubscribe(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Ack {
    if (!this.withinBudget(socket)) return { ok: false, error: OVER_BUDGET_ERROR };
    const filter = parseFilter(body, { requireOne: true });
    if ('error' in filter) return { ok: false, error: filter.error };
    const unknown = this.unknownType(filter);
    if (unknown) return { ok: false, error: unknown };
    const next = subscribe(this.subscriptionsOf(socket), filter);
    if ('error' in next) return { ok: false, error: next.error };
    return this.move(socket, next);
  }

  @SubscribeMessage('unsubscribe')
  onUnsubscribe(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Ack {
    if (!this.withinBudget(socket)) return { ok: false, error: OVER_BUDGET_ERROR };
    const filter = parseFilter(body, { requireOne: true });
    if ('error' in filter) return { ok: false, error: filter.error };
    const unknown = this.unknownType(filter);
    if (unknown) return { ok: false, error: unknown };
    const next = unsubscribe(this.subscriptionsOf(socket), filter as Filter);
    const ack = this.move(socket, next);
    return isAll(next) ? { ...ack, note: EVERY_JOB_NOTE } : ack;
  }

  /** Catch-up: the job's events after `after_sequence`, from PostgreSQL, in order. */
  @SubscribeMessage('replay')
  async onReplay(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    if (!this.withinBudget(socket)) return { ok: false, error: OVER_BUDGET_ERROR };
    const input = (typeof body === 'object' && body !== null ? body : {}) as { job_id?: unknown; after_sequence?: unknown };
    if (typeof input.job_id !== 'string') return { ok: false, error: 'replay needs job_id: the id (a UUID) of one job' };
    const unknownKey = Object.keys(input).find((key) => key !== 'job_id' && key !== 'after_sequence');
    if (unknownKey !== undefined) return { ok: false, error: `unknown key "${unknownKey.slice(0, 100)}": replay takes job_id and after_sequence` };
    const filter = parseFilter({ job_id: input.job_id }, { requireOne: true });
    if ('error' in filter || filter.jobIds.length !== 1) {
      return { ok: false, error: 'error' in filter ? filter.error : 'name exactly one job_id' };
    }
    const after = input.after_sequence === undefined ? 0 : input.after_sequence;
    if (typeof after !== 'number' || !Number.isInteger(after) || after < 0 || after > MAX_SEQUENCE) {
      return { ok: false, error: `after_sequence must be an integer from 0 to ${MAX_SEQUENCE}` };
    }
    const backlog = replayBacklogError(socket.conn as unknown as EngineConnection);
    if (backlog !== null) return { ok: false, error: backlog };
    const place = this.replays.enter(socket);
    if ('error' in place) return { ok: false, error: place.error };
    let page: Awaited<ReturnType<JobEventLog['eventsSince']>>;
    try {
      page = await this.eventLog.eventsSince(filter.jobIds[0]!, after);
    } catch (error) {
      this.logger.warn({ err: error }, 'replay could not read the event log');
      return { ok: false, error: 'the event log could not be read now: replay again in a moment' };
    } finally {
      place.leave();
    }
    if (page === null) return { ok: false, error: `job ${filter.jobIds[0]} not found` };
    // `more` only on a full page: replay again after the last event's sequence for the rest.
    return { ok: true, job_id: filter.jobIds[0], events: page.events.map(toUpdate), ...(page.more ? { more: true } : {}) };
  }

  private relay(event: JobEvent): void {
    if (this.server.sockets.size === 0) return; // nobody listening here: no ordering or encoding work
    const sequence = typeof event.data.sequence === 'number' ? event.data.sequence : NaN;
    if (Number.isNaN(sequence)) return this.emit([{ event }]);
    this.emit(this.order.push({ jobId: event.jobId, sequence, event }, performance.now()));
  }

  /**
   * Every 100 ms: the events whose wait for a missing one is over go out, and clients too far behind
   * are disconnected. It runs on a timer, where a throw would end the process: nothing escapes it.
   */
  private tick(): void {
    try {
      this.emit(this.order.flush(performance.now()));
      this.cutOffLaggards();
    } catch (error) {
      this.logger.error({ err: error }, 'live updates: the periodic flush failed');
    }
  }

  /** Each event on its own: one that cannot be sent is logged and the others of its batch still go. */
  private emit(items: Array<{ event: JobEvent }>): void {
    for (const { event } of items) {
      try {
        // Every API instance gets every event from the bus, so each emits to its own clients only.
        this.server.local.to(roomsFor(event.jobId, String(event.data.type))).emit('job_update', toUpdate(event));
      } catch (error) {
        this.logger.error({ err: error }, 'live updates: a job event could not be sent');
      }
    }
  }

  private cutOffAll(): void {
    if (this.server.sockets.size === 0) return;
    this.logger.warn({ clients: this.server.sockets.size }, 'live updates: events were missed; disconnecting every client, to reconnect and replay');
    for (const socket of this.server.sockets.values()) cutOff(socket.conn as unknown as EngineConnection & { close(discard: boolean): void });
  }

  /** Disconnects the clients that stopped reading (domain/backlog.ts): they reconnect and replay. */
  private cutOffLaggards(): void {
    for (const socket of this.server.sockets.values()) {
      const conn = socket.conn as unknown as EngineConnection & { close(discard: boolean): void };
      const behind = fallenBehind(conn, this.maxQueued);
      if (behind === null) continue;
      this.logger.warn({ socket: socket.id, behind }, 'live updates: disconnected a client that is not reading what it is sent');
      cutOff(conn);
    }
  }

  /** Leaves the rooms `next` drops and joins those it adds: linear in the filters (up to MAX_FILTERS). */
  private move(socket: Socket, next: Subscriptions): { ok: true; subscriptions: ReturnType<typeof view> } {
    if (next === this.subscriptionsOf(socket)) return { ok: true, subscriptions: view(next) };
    const before = new Set(roomsOf(this.subscriptionsOf(socket)));
    const after = roomsOf(next);
    const kept = new Set(after);
    for (const room of before) if (!kept.has(room)) void socket.leave(room);
    const joining = after.filter((room) => !before.has(room));
    if (joining.length > 0) void socket.join(joining);
    (socket.data as { subscriptions: Subscriptions }).subscriptions = next;
    return { ok: true, subscriptions: view(next) };
  }

  /** Whether the socket may send one more message now (MessageBudget). */
  private withinBudget(socket: Socket): boolean {
    const data = socket.data as { budget?: MessageBudget };
    const now = performance.now();
    data.budget ??= new MessageBudget(MESSAGES_PER_SECOND, MESSAGE_BURST, now);
    return data.budget.take(now);
  }

  private subscriptionsOf(socket: Socket): Subscriptions {
    return (socket.data as { subscriptions?: Subscriptions }).subscriptions ?? EMPTY;
  }
}
