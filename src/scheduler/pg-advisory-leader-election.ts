import { Logger } from '@nestjs/common';
import pg from 'pg';
import { LeaderElection } from './leader-election.js';

/** Key of the scheduler's session advisory lock (advisory locks are scoped to the database). */
const SCHEDULER_LOCK = 7_236_002;

/**
 * LeaderElection on a PostgreSQL session advisory lock held on a dedicated connection: the lock
 * goes when the connection goes (process killed, network cut), and another instance, trying every
 * `retryMs`, takes over within seconds.
 */
export class PgAdvisoryLeaderElection extends LeaderElection {
  private readonly logger = new Logger(PgAdvisoryLeaderElection.name);
  private readonly listeners: Array<(leader: boolean) => void> = [];
  private client?: pg.Client;
  private leader = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private busy = false;

  constructor(
    private readonly url: string,
    private readonly retryMs = 1000,
  ) {
    super();
  }

  isLeader(): boolean {
    return this.leader;
  }

  onChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.retryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 5));
    const client = this.client;
    this.client = undefined;
    this.setLeader(false);
    if (client) await client.end().catch(() => undefined); // ends the session: the lock is released
  }

  /** Tries to take the lock, or (as leader) checks the connection still holds it. */
  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const client = await this.connection();
      if (this.stopped) return this.drop();
      if (this.leader) {
        await client.query('SELECT 1');
        return;
      }
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SCHEDULER_LOCK]);
      if (rows[0]?.locked && !this.stopped) this.setLeader(true);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'leader election connection failed; will retry');
      this.drop();
    } finally {
      this.busy = false;
    }
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, application_name: 'draconic-leader-election' });
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'leader election connection lost');
      if (this.client === client) this.drop();
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    this.setLeader(false);
    client?.end().catch(() => undefined);
  }

  private setLeader(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.logger.log(leader ? 'became the scheduler leader' : 'no longer the scheduler leader');
    for (const listener of this.listeners) listener(leader);
  }
}
