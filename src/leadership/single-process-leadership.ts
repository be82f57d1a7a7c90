import { Logger } from '@nestjs/common';
import pg from 'pg';
import { LeaderElection } from './leader-election.js';

/** Key of the session advisory lock that keeps a second process off a database used without Redis. */
const ONE_PROCESS_LOCK = 7_236_003;

/** Another process already runs on this PostgreSQL database without Redis: this one must not start. */
export class AnotherProcessOnDatabaseError extends Error {
  constructor() {
    super(
      'another draconic process runs on this DATABASE_URL without REDIS_URL. Without Redis, one process does all ' +
        'the work and no second one may share its database (both would schedule, and limits would not hold): stop the ' +
        'other one, or set REDIS_URL on every process to run several.',
    );
    this.name = 'AnotherProcessOnDatabaseError';
  }
}

/**
 * LeaderElection when no other process can schedule: an embedded database, or PostgreSQL without
 * Redis (in-process messaging). In the second case another process *could* start on the same
 * database, and nothing would fence the two (no epoch, no shared events): a session advisory lock,
 * held on a connection of its own for the life of the process, refuses it at boot. Should that
 * connection drop (PostgreSQL restarting), this process stops scheduling at once (PostgreSQL released
 * the lock with the session, and nothing would fence the two) and takes the lock again; if another
 * process took it meanwhile, this one shuts down (`onDisplaced`, by default a SIGTERM to itself, so
 * that its worker drains): serving requests, heartbeating a worker the other process would hand work
 * to through an in-process queue nobody reads, it would be half a service. Its supervisor starts it
 * again, and it then stops at boot with the reason.
 */
export class SingleProcessLeadership extends LeaderElection {
  private readonly logger = new Logger(SingleProcessLeadership.name);
  private readonly listeners: Array<(leader: boolean) => void> = [];
  private leader = false;
  private client?: pg.Client;
  /** The session that holds the lock (backend pid and start), kept after its connection is lost (see endOwnLeftover()). */
  private holder?: { pid: number; startedAt: string };
  private retry?: NodeJS.Timeout;
  private stopped = false;

  /** `databaseUrl`: the shared PostgreSQL when there is one (no Redis); none for the embedded database. */
  /**
   * `timeouts`: of connecting and of each statement on the lock's connections (DB_CONNECT_TIMEOUT_MS,
   * DB_QUERY_TIMEOUT_MS), so that taking the lock back from a host that accepts connections and then
   * answers nothing (a fenced old primary) fails and is tried again, instead of waiting on TCP for hours
   * while nothing is scheduled.
   */
  constructor(
    private readonly databaseUrl: string | null = null,
    private readonly onDisplaced: () => void = () => process.kill(process.pid, 'SIGTERM'),
    private readonly timeouts: { connectMs: number; queryMs: number } = { connectMs: 10_000, queryMs: 30_000 },
  ) {
    super();
  }

  /** A client for the lock's connections, bounded in time; a keepalive notices a dead peer of the idle lock connection in minutes. */
  private newClient(applicationName: string): pg.Client {
    const client = new pg.Client({
      connectionString: this.databaseUrl!,
      application_name: applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: this.timeouts.connectMs,
      query_timeout: this.timeouts.queryMs,
    });
    client.on('error', () => undefined);
    return client;
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Nothing to fence: no other process can schedule. */
  epoch(): number | null {
    return null;
  }

  /** Nobody can take over from the only process, so there is nothing to give up. */
  relinquish(): void {}

  onChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (this.databaseUrl && !(await this.lock())) throw new AnotherProcessOnDatabaseError();
    this.set(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.set(false);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Takes the lock on a connection of its own; false when another session holds it. */
  private async lock(): Promise<boolean> {
    const client = this.newClient('draconic-one-process');
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean; pid: number; started_at: string }>(
        `SELECT pg_try_advisory_lock($1) AS locked, pg_backend_pid() AS pid,
                (SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS started_at`,
        [ONE_PROCESS_LOCK],
      );
      if (!rows[0]?.locked || this.stopped) {
        await client.end().catch(() => undefined);
        return false;
      }
      this.holder = { pid: rows[0].pid, startedAt: rows[0].started_at };
    } catch (error) {
      // Not awaited: on a connection that went silent, ending it could wait as long as the statement did.
      void client.end().catch(() => undefined);
      throw error;
    }
    client.on('end', () => this.lost(client));
    this.client = client;
    return true;
  }

  /** The lock's connection ended: take the lock again, once a second, until it is this process's again. */
  private lost(client: pg.Client): void {
    if (this.stopped || this.client !== client) return;
    this.client = undefined;
    this.logger.warn("the connection holding this process's database lock was lost; scheduling stops until the lock is taken again");
    this.set(false);
    const again = async (): Promise<void> => {
      if (this.stopped) return;
      const locked = await this.lock().catch(() => null);
      if (this.stopped) return;
      if (locked === true) {
        this.set(true);
        return;
      }
      if (locked === false && (await this.endOwnLeftover())) {
        this.retry = setTimeout(() => void again(), 100);
        this.retry.unref();
        return;
      }
      if (locked === false) {
        this.logger.error(`${new AnotherProcessOnDatabaseError().message} It took this process's lock while the connection holding it was down: this process shuts down.`);
        this.stopped = true;
        this.onDisplaced();
        return;
      }
      this.retry = setTimeout(() => void again(), 1000);
      this.retry.unref();
    };
    void again();
  }

  /**
   * When the lock is held by this process's own earlier session (its connection lost on this side only:
   * a NAT or load balancer that dropped an idle connection, whose server side waits out its keepalive
   * for minutes), ends that session so the lock can be taken again; true when it did. Any other holder
   * is another process.
   */
  private async endOwnLeftover(): Promise<boolean> {
    if (!this.holder) return false;
    const client = this.newClient('draconic-one-process-check');
    let ended: boolean;
    try {
      await client.connect();
      const { rows } = await client.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(l.pid) AS ended FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1 AND l.pid = $2
           AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.pid AND a.backend_start::text = $3)`,
        [ONE_PROCESS_LOCK, this.holder.pid, this.holder.startedAt],
      );
      ended = rows.length > 0;
    } catch {
      void client.end().catch(() => undefined);
      return false;
    }
    await client.end().catch(() => undefined);
    return ended;
  }

  private set(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    for (const listener of this.listeners) listener(leader);
  }
}
