import { Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import type { Dependency } from '../common/errors/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { applicationName } from '../database/data-source-options.js';
import { OwnConnection } from '../database/own-connection.js';
import { RedisConnections } from '../redis/redis-connections.js';
import { TimeoutError, withTimeout } from './deadline.js';

export interface DependencyState {
  up: boolean;
  /** Why the last check failed (while down). */
  message?: string;
  /** `embedded` (PGlite in this process) or `in-process` (no Redis): nothing to reach. */
  mode?: 'embedded' | 'in-process';
  /** Round trip of the last successful check, ms. */
  latencyMs?: number;
  /** When the last check ended. */
  checkedAt: number;
}

type Listener = (dependency: Dependency, state: DependencyState) => void;

/**
 * Resolves when the connection is (re)connected; its own reconnection strategy does the retrying.
 * `giveUp` removes the listener: a check that timed out must not leave one behind.
 */
function onceReady(redis: Redis): { ready: Promise<void>; giveUp(): void } {
  let listener: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    listener = () => resolve();
    redis.once('ready', listener);
  });
  return { ready, giveUp: () => redis.off('ready', listener) };
}

/**
 * Whether PostgreSQL and Redis answer, checked in the background every HEALTH_PROBE_INTERVAL_MS,
 * each check bounded by HEALTH_PROBE_TIMEOUT_MS, on connections of its own: a health request and
 * request admission read the last result and do no I/O, so neither waits behind the shared pool
 * (under a flood of other requests) nor behind a dependency that hangs. A failed PostgreSQL check
 * is tried once more on a fresh connection before it counts (its connection may just have been
 * terminated); a dependency back up is seen at the next check, without a restart.
 */
@Injectable()
export class DependencyProbe implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(DependencyProbe.name);
  private readonly states = new Map<Dependency, DependencyState>();
  private readonly listeners = new Set<Listener>();
  private timer?: NodeJS.Timeout;
  private running = false;
  private readonly pg: OwnConnection;
  private redisConnection?: Redis;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly db: DataSource,
    @Optional() private readonly redis?: RedisConnections,
  ) {
    this.pg = new OwnConnection({ connectionString: config.databaseUrl, application_name: `${applicationName(config)}-probe`.slice(0, 63) });
    const now = Date.now();
    this.states.set('database', config.databaseEmbedded ? { up: true, mode: 'embedded', checkedAt: now } : { up: true, checkedAt: now });
    this.states.set('redis', redis ? { up: true, checkedAt: now } : { up: true, mode: 'in-process', checkedAt: now });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.redis) {
      // Commands fail at once while disconnected (no offline queue): a check never waits for a reconnect.
      // A ping unanswered within the check's time closes the connection too (as dropping the PostgreSQL connection does):
      // on a connection that stopped carrying bytes, the next ping goes out on a new one.
      this.redisConnection = this.redis.open('health-probe', {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: this.config.healthProbe.timeoutMs,
        socketTimeout: this.config.healthProbe.timeoutMs,
      });
    }
    await this.probe();
    this.timer = setInterval(() => void this.probe(), this.config.healthProbe.intervalMs);
    this.timer.unref();
  }

  /** Checks stop before the connections close, so that shutting down is not reported as an outage. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  async onApplicationShutdown(): Promise<void> {
    this.beforeApplicationShutdown();
    await this.pg.close();
  }

  state(dependency: Dependency): DependencyState {
    return this.states.get(dependency)!;
  }

  /** The first of `dependencies` that is down, if any. */
  firstDown(dependencies: readonly Dependency[]): Dependency | null {
    return dependencies.find((d) => !this.states.get(d)!.up) ?? null;
  }

  /** Calls `listener` each time a dependency goes down; returns the unsubscribe. */
  onDown(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One round of checks (skipped while the previous round is still out). */
  async probe(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      await Promise.all([
        this.states.get('database')!.mode ? this.checkEmbedded() : this.check('database', () => this.pingPostgres()),
        this.redisConnection ? this.check('redis', () => this.pingRedis()) : undefined,
      ]);
    } finally {
      this.running = false;
    }
  }

  private async check(dependency: Dependency, ping: () => Promise<void>): Promise<void> {
    const startedAt = performance.now();
    let next: DependencyState;
    try {
      await ping();
      next = { up: true, latencyMs: Math.round((performance.now() - startedAt) * 10) / 10, checkedAt: Date.now() };
    } catch (error) {
      next = { up: false, message: (error as Error).message || String(error), checkedAt: Date.now() };
    }
    this.record(dependency, next);
  }

  private async checkEmbedded(): Promise<void> {
    // PGlite runs in this process: a check through the app's one connection says whether it still answers.
    try {
      await withTimeout(this.db.query('SELECT 1'), this.config.healthProbe.timeoutMs, 'PostgreSQL');
      this.record('database', { up: true, mode: 'embedded', checkedAt: Date.now() });
    } catch (error) {
      this.record('database', { up: false, mode: 'embedded', message: (error as Error).message, checkedAt: Date.now() });
    }
  }

  private record(dependency: Dependency, next: DependencyState): void {
    const before = this.states.get(dependency)!;
    this.states.set(dependency, next);
    if (before.up && !next.up) {
      this.logger.warn({ dependency, reason: next.message }, 'dependency unavailable: requests that need it get 503 until it answers');
      for (const listener of this.listeners) listener(dependency, next);
    } else if (!before.up && next.up) {
      this.logger.log({ dependency }, 'dependency available again');
    }
  }

  private async pingPostgres(): Promise<void> {
    const timeoutMs = this.config.healthProbe.timeoutMs;
    try {
      await this.selectOne(timeoutMs);
    } catch (error) {
      this.pg.drop();
      // The probe's own connection may just have been terminated: one more try on a new one.
      if (error instanceof TimeoutError) throw error;
      await this.selectOne(timeoutMs).catch((again: unknown) => {
        this.pg.drop();
        throw again;
      });
    }
  }

  private async selectOne(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const client = await withTimeout(this.stopped ? Promise.reject(new Error('stopped')) : this.pg.get(timeoutMs), timeoutMs, 'PostgreSQL');
    await withTimeout(client.query('SELECT 1'), Math.max(1, deadline - performance.now()), 'PostgreSQL');
  }

  private async pingRedis(): Promise<void> {
    const redis = this.redisConnection!;
    if (redis.status !== 'ready') {
      const waiting = onceReady(redis);
      try {
        await withTimeout(waiting.ready, this.config.healthProbe.timeoutMs, 'Redis');
      } finally {
        waiting.giveUp();
      }
    }
    const answer = await withTimeout(redis.ping(), this.config.healthProbe.timeoutMs, 'Redis');
    if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
  }
}
