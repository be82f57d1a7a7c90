import { Logger } from '@nestjs/common';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { leaderLeaseTiming, leaderVerdict, leaseHeldUntil, type LeaderLeaseTiming } from './domain/leader-lease.js';
import { LeaderElection } from './leader-election.js';

/** Key of the scheduler's session advisory lock (advisory locks are scoped to the database). */
const SCHEDULER_LOCK = 7_236_002;
/** PostgreSQL's code for an unknown setting (idle_session_timeout came with PostgreSQL 14). */
const UNDEFINED_OBJECT = '42704';

interface Term {
  epoch: number;
  /** On this process's monotonic clock: until when the last renewal keeps the lock. */
  heldUntil: number;
  /** The epoch read at the last renewal (another process's means this one was deposed). */
  epochSeen: number | null;
}

/**
 * LeaderElection on a PostgreSQL session advisory lock held on a dedicated connection, leased
 * (domain/leader-lease.ts): the session ends when the connection drops (process killed) and also
 * when it stays idle for `leaseMs` (`idle_session_timeout`: process frozen, network cut), which
 * releases the lock, so a follower takes over within WORKER_LOST_SECONDS whatever happened to the
 * leader. A new leader increments the epoch in `scheduler_leadership` under a row lock, which waits
 * for the placements still in flight under the previous epoch; placements check the epoch in SQL.
 * A leader steps down at once when its lease runs out on its own clock (it does not wait to hear
 * from PostgreSQL), when its connection fails, or when it reads an epoch that is not its own.
 *
 * Why not a lease row with an expiry: a killed leader's advisory lock goes as soon as PostgreSQL
 * sees the connection close, so a crash is taken over within a second rather than after a full
 * lease, and renewing costs a read instead of a row update every second.
 */
export class PgAdvisoryLeaderElection extends LeaderElection {
  private readonly logger = new Logger(PgAdvisoryLeaderElection.name);
  private readonly listeners: Array<(leader: boolean) => void> = [];
  private readonly timing: LeaderLeaseTiming;
  private readonly holder = `${hostname()}-${process.pid}`;
  private client?: pg.Client;
  private term?: Term;
  /** The epoch of this process's current or last term; -1 before its first (no epoch is negative). */
  private lastEpoch = -1;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private busy = false;

  constructor(
    private readonly url: string,
    workerLostSeconds: number,
  ) {
    super();
    this.timing = leaderLeaseTiming(workerLostSeconds);
  }

  isLeader(): boolean {
    if (!this.term) return false;
    const verdict = leaderVerdict(this.term, performance.now());
    if (verdict === 'lead') return true;
    this.stepDown(verdict === 'superseded' ? 'another process took the leadership' : `the lease was not renewed within ${this.timing.leaseMs} ms`);
    return false;
  }

  epoch(): number {
    return this.lastEpoch;
  }

  onChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }

  relinquish(reason: string): void {
    this.stepDown(reason);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.timing.renewMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 5));
    this.stepDown('shutting down'); // ends the session: the lock is released
  }

  /** As leader: renews the lease and checks the epoch. Otherwise: tries to take the lock. */
  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      this.isLeader(); // a lease that ran out while this process was away is given up before anything else
      const client = await this.connection();
      if (this.stopped) return;
      const sentAt = performance.now();
      if (this.term) {
        const { rows } = await client.query<{ epoch: string }>('SELECT epoch FROM scheduler_leadership WHERE id = 1');
        if (!this.term) return;
        this.term.heldUntil = leaseHeldUntil(sentAt, this.timing.leaseMs);
        this.term.epochSeen = Number(rows[0]?.epoch ?? -1);
        this.isLeader();
        return;
      }
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SCHEDULER_LOCK]);
      if (!rows[0]?.locked || this.stopped) return;
      const epoch = await this.nextEpoch(client);
      this.lastEpoch = epoch;
      this.term = { epoch, heldUntil: leaseHeldUntil(sentAt, this.timing.leaseMs), epochSeen: epoch };
      this.logger.log({ epoch, leaseMs: this.timing.leaseMs }, 'became the scheduler leader');
      for (const listener of this.listeners) listener(true);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'leader election connection failed; will retry');
      this.stepDown('its connection to PostgreSQL failed');
    } finally {
      this.busy = false;
    }
  }

  /**
   * Starts a new term. The row lock this UPDATE takes waits for placements still running under the
   * previous epoch (they hold the row FOR SHARE), and every placement after it sees the new epoch.
   */
  private async nextEpoch(client: pg.Client): Promise<number> {
    const { rows } = await client.query<{ epoch: string }>(
      `INSERT INTO scheduler_leadership AS l (id, epoch, holder, acquired_at) VALUES (1, 1, $1, now())
       ON CONFLICT (id) DO UPDATE SET epoch = l.epoch + 1, holder = EXCLUDED.holder, acquired_at = now()
       RETURNING epoch`,
      [this.holder],
    );
    return Number(rows[0]!.epoch);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'draconic-leader-election',
      keepAlive: true,
      connectionTimeoutMillis: this.timing.leaseMs,
      query_timeout: this.timing.leaseMs,
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'leader election connection lost');
      if (this.client === client) this.stepDown('its connection to PostgreSQL was lost');
    });
    try {
      await client.connect();
      await client.query(`SET idle_session_timeout = ${this.timing.leaseMs}`).catch((error: { code?: string }) => {
        if (error.code !== UNDEFINED_OBJECT) throw error;
        this.logger.warn('PostgreSQL before 14 has no idle_session_timeout: a frozen leader is replaced only once its connection drops');
      });
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }

  /** Leaves the term (if any) and ends the session, which releases the lock; the next tick tries again. */
  private stepDown(reason: string): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => undefined);
    if (!this.term) return;
    this.term = undefined;
    this.logger.warn({ reason }, 'no longer the scheduler leader');
    for (const listener of this.listeners) listener(false);
  }
}
