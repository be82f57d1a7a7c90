import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { databaseTime, type DatabaseTime } from '../common/database-time.js';
import { Sql } from './sql.js';

/** How often the estimate of PostgreSQL's clock is read again. */
export const SAMPLE_EVERY_MS = 30_000;
/** An offset from PostgreSQL's clock past this is logged (at warn), as it appears and as it goes. */
export const NOTED_OFFSET_MS = 1000;

/**
 * Reads PostgreSQL's clock (`clock_timestamp()`) at startup and every SAMPLE_EVERY_MS into
 * `databaseTime`, which every comparison with a stored instant uses (see database-time.ts). A reading
 * that fails (the database away) is logged at debug and tried again at the next interval; meanwhile
 * the last estimate goes on.
 */
@Injectable()
export class DatabaseClockSampler implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('DatabaseClock');
  private timer?: NodeJS.Timeout;
  private offsetNoted = false;
  /** The estimate fed (the process's one; a spec gives its own). */
  time: DatabaseTime = databaseTime;

  constructor(private readonly sql: Sql) {}

  async onModuleInit(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one reading; never throws. */
  async sample(): Promise<void> {
    try {
      const sentAt = performance.now();
      const [row] = await this.sql.query<{ ms: string | number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`);
      const receivedAt = performance.now();
      if (!this.time.offer(Number(row?.ms), sentAt, receivedAt)) return;
      this.noteOffset(this.time.offsetMs());
    } catch (error) {
      this.logger.debug({ err: error }, 'could not read PostgreSQL’s clock; the last estimate goes on');
    }
  }

  private noteOffset(offset: number): void {
    const far = Math.abs(offset) > NOTED_OFFSET_MS;
    if (far === this.offsetNoted) return;
    this.offsetNoted = far;
    const ms = Math.round(offset);
    if (far) this.logger.warn({ offset_ms: ms }, `this process’s clock is ${Math.abs(ms)} ms ${ms > 0 ? 'behind' : 'ahead of'} PostgreSQL’s; the engine goes by PostgreSQL’s clock (synchronise the machines’ clocks, e.g. with NTP)`);
    else this.logger.warn({ offset_ms: ms }, 'this process’s clock agrees with PostgreSQL’s again');
  }
}
