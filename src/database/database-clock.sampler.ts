import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { databaseTime, type DatabaseTime } from '../common/database-time.js';
import { within } from '../common/within.js';
import { Sql } from './sql.js';

/** How often the estimate of PostgreSQL's clock is read again. */
export const SAMPLE_EVERY_MS = 30_000;
/** How long startup waits for the first reading. */
const FIRST_READING_WAIT_MS = 2000;
/** How soon a reading is tried again while none was kept (the database away at startup). */
const RETRY_MS = 2000;
/** An offset from PostgreSQL's clock past this is logged (at warn), as it appears and as it goes. */
export const NOTED_OFFSET_MS = 1000;

/**
 * Reads PostgreSQL's clock (`clock_timestamp()`) at startup and every SAMPLE_EVERY_MS into
 * `databaseTime`, which every comparison with a stored instant uses (see database-time.ts). A reading
 * that fails (the database away) is logged at debug and tried again at the next interval (every 2 s
 * until one arrives); meanwhile the last estimate goes on (the process's own clock before the first).
 */
@Injectable()
export class DatabaseClockSampler implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('DatabaseClock');
  private timer?: NodeJS.Timeout;
  private offsetNoted = false;
  private stopped = false;
  /** The estimate fed (the process's one; a spec gives its own). */
  time: DatabaseTime = databaseTime;

  constructor(private readonly sql: Sql) {}

  async onModuleInit(): Promise<void> {
    // Waited for, so that the scheduler starts on PostgreSQL's clock, but not for long: a database slow
    // to answer at boot is the health checks' to report, and the reading arrives when it arrives.
    // Three readings back to back: each narrows what the one before allows (database-time.ts).
    const first = this.sample().then(() => this.sample()).then(() => this.sample());
    await within(first, FIRST_READING_WAIT_MS, undefined);
    void first.then(() => this.next());
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The next reading: in SAMPLE_EVERY_MS, or in RETRY_MS while there has been none. */
  private next(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.sample().then(() => this.next()), this.time.uncertaintyMs() !== null ? SAMPLE_EVERY_MS : RETRY_MS);
    this.timer.unref();
  }

  /** Takes one reading; never throws. */
  async sample(): Promise<void> {
    try {
      const sentAt = performance.now();
      const [row] = await this.sql.query<{ ms: string | number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`);
      const receivedAt = performance.now();
      this.time.offer(Number(row?.ms), sentAt, receivedAt);
      if (this.time.uncertaintyMs() !== null) this.noteOffset(this.time.offsetMs());
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
