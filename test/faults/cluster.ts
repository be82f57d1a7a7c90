import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import { listWorkers, leaderGauge, NOTHING_ALLOCATED } from '../support/engine.js';
import { PgFaults } from '../support/pg-faults.js';
import { startApiProcess, startWorkerProcess, type ApiProcess, type ServiceProcess, type WorkerProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, type TestSpace } from '../support/test-app.js';
import { runId, TEST_REDIS_URL } from '../support/test-env.js';
import { Probe } from './probe.js';

/**
 * The drills' cluster: API processes and worker processes forked from the build, on a database and
 * Redis prefix of their own, their data_fetch jobs calling a local probe. Timings are short so that
 * a drill that waits for a worker to be declared lost still fits the suite's budget.
 */
export const TIMING = {
  HEARTBEAT_INTERVAL_MS: '250',
  WORKER_LOST_SECONDS: '3',
  DATA_FETCH_ALLOW_PRIVATE: 'true',
  LOG_LEVEL: 'info',
};
export const WORKER_LOST_MS = Number(TIMING.WORKER_LOST_SECONDS) * 1000;
const WORKER_SIZE = { MAX_CONCURRENT_JOBS: '40', MAX_CPU_UNITS: '64', MAX_MEMORY_MB: '65536' };
export const WORKER_IDS = ['drill-w1', 'drill-w2'] as const;
/** A process's start-up on a busy 2-core machine (four node processes booting at once) can take tens of seconds. */
const START_TIMEOUT_MS = 90_000;
const TERMINAL = ['completed', 'failed', 'timeout', 'cancelled'];
/** Lines that mean a process lost control of an error (node's own wording and the service's). */
const CRASH_LINE = /Unhandled|uncaughtException|unhandledRejection/;

export interface Settled {
  submitted: number;
  completed: number;
  /** Terminal but not completed (failed, timeout, cancelled). */
  other: number;
  /** Never terminal within the wait. */
  lost: number;
  notCompleted: Array<{ id: string; status: string }>;
  /** For a job not completed: its row as the scheduler sees it, so a failure can be read from the report. */
  detail: Array<Record<string, unknown>>;
}

export class Cluster {
  readonly apis: ApiProcess[] = [];
  readonly workers = new Map<string, WorkerProcess>();
  /** Lines of any process that say it lost control of an error, with the process's label. */
  readonly crashLines: string[] = [];
  /** Processes the drills killed on purpose (their exits are not crashes). */
  private readonly killed = new Set<ServiceProcess>();

  private constructor(
    readonly space: TestSpace,
    readonly faults: PgFaults,
    readonly probe: Probe,
  ) {}

  static async start(): Promise<Cluster> {
    const space = await createTestSpace('fault_drills');
    const cluster = new Cluster(space, await PgFaults.for(space), await Probe.start());
    await cluster.startApi();
    await Promise.all(WORKER_IDS.map((id) => cluster.startWorker(id)));
    return cluster;
  }

  async startApi(): Promise<ApiProcess> {
    const api = this.watch(await startApiProcess(this.space, TIMING, START_TIMEOUT_MS));
    this.apis.push(api);
    return api;
  }

  async startWorker(id: string): Promise<WorkerProcess> {
    const worker = this.watch(await startWorkerProcess(this.space, { ...TIMING, ...WORKER_SIZE, WORKER_ID: id }, START_TIMEOUT_MS));
    this.workers.set(id, worker);
    return worker;
  }

  /** Every process that should be running now. */
  get live(): ServiceProcess[] {
    return [...this.apis, ...this.workers.values()].filter((p) => !this.killed.has(p));
  }

  /** An API process that is running (the first one). */
  get api(): ApiProcess {
    const api = this.apis.find((a) => a.running && !this.killed.has(a));
    if (!api) throw new Error('no API process is running');
    return api;
  }

  /** kill -9, on purpose: the process leaves the cluster. */
  async kill(process: ServiceProcess): Promise<void> {
    this.killed.add(process);
    process.kill('SIGKILL');
    await process.waitForExit();
    const index = this.apis.indexOf(process as ApiProcess);
    if (index >= 0) this.apis.splice(index, 1);
    for (const [id, worker] of this.workers) if (worker === process) this.workers.delete(id);
  }

  /** SIGSTOP for `ms`, then SIGCONT. */
  async freeze(process: ServiceProcess, ms: number): Promise<void> {
    process.kill('SIGSTOP');
    try {
      await sleep(ms);
    } finally {
      process.kill('SIGCONT');
    }
  }

  /** The API processes in [leader, follower] order, once exactly one of them leads. */
  async leaderAndFollower(): Promise<[ApiProcess, ApiProcess]> {
    if (this.apis.length !== 2) throw new Error(`two API processes expected, there are ${this.apis.length}`);
    return expectEventually(
      async () => {
        const gauges = await Promise.all(this.apis.map((a) => leaderGauge(a)));
        expect([...gauges].sort()).toEqual([0, 1]);
        return gauges[0] === 1 ? [this.apis[0]!, this.apis[1]!] : [this.apis[1]!, this.apis[0]!];
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  }

  /** Submits `count` data_fetch jobs through `api` in batches; returns the ids acknowledged. */
  async submit(count: number, holdMs: number, api: ApiProcess = this.api): Promise<string[]> {
    const ids: string[] = [];
    for (let sent = 0; sent < count; sent += 500) {
      ids.push(...(await this.submitBatch(Math.min(500, count - sent), holdMs, api)));
    }
    return ids;
  }

  /** One batch; an answer other than 201 (the fault refused it) acknowledges nothing. */
  async submitBatch(count: number, holdMs: number, api: ApiProcess = this.api): Promise<string[]> {
    const jobs = Array.from({ length: count }, () => ({
      type: 'data_fetch',
      payload: { url: this.probe.target(holdMs) },
      resource_requirements: { cpu_units: 1, memory_mb: 16 },
      retry_config: { max_attempts: 10, initial_delay_ms: 50, backoff_multiplier: 1.5, max_delay_ms: 1000 },
    }));
    const response = await api.post<{ items: Array<{ id: string }> }>('/jobs/batch', { jobs }).catch(() => null);
    return response?.status === 201 ? response.body.items.map((i) => i.id) : [];
  }

  /**
   * Keeps submitting small batches through `api()` until the returned stop function is called, which
   * resolves with the ids acknowledged meanwhile: jobs arriving while a fault is under way.
   */
  flow(api: () => ApiProcess, holdMs: number, perBatch = 20, everyMs = 100): () => Promise<string[]> {
    const ids: string[] = [];
    let flowing = true;
    const loop = (async () => {
      while (flowing) {
        ids.push(...(await this.submitBatch(perBatch, holdMs, api())));
        await sleep(everyMs);
      }
    })();
    return async () => {
      flowing = false;
      await loop;
      return ids;
    };
  }

  /** How many of `ids` are in each status, read from the database. */
  async statuses(ids: string[]): Promise<Map<string, number>> {
    const rows = await this.faults.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status`,
      [ids],
    );
    return new Map(rows.map((r) => [r.status, r.n]));
  }

  /** Waits until at least `count` of `ids` completed: the fault then hits a flow under way. */
  async untilCompleted(ids: string[], count: number, timeoutMs = 30_000): Promise<void> {
    await expectEventually(async () => expect((await this.statuses(ids)).get('completed') ?? 0).toBeGreaterThanOrEqual(count), {
      timeoutMs,
      intervalMs: 50,
    });
  }

  /** Waits until `worker` runs at least `count` jobs (GET /workers). */
  async untilRunningOn(workerId: string, count: number, timeoutMs = 30_000): Promise<void> {
    await expectEventually(
      async () => {
        const worker = (await listWorkers(this.api)).find((w) => w.id === workerId);
        expect(worker?.running_jobs.length ?? 0).toBeGreaterThanOrEqual(count);
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  /** Waits (bounded) until every job of `ids` is terminal, then counts; a job still not terminal is lost. */
  async settle(ids: string[], timeoutMs = 60_000): Promise<Settled> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const byStatus = await this.statuses(ids);
      const terminal = TERMINAL.reduce((sum, s) => sum + (byStatus.get(s) ?? 0), 0);
      if (terminal === ids.length || Date.now() > deadline) {
        const completed = byStatus.get('completed') ?? 0;
        const notCompleted =
          completed === ids.length
            ? []
            : await this.faults.query<{ id: string; status: string }>(
                `SELECT id, status FROM jobs WHERE id = ANY($1::uuid[]) AND status <> 'completed' ORDER BY id LIMIT 20`,
                [ids],
              );
        const detail =
          notCompleted.length === 0
            ? []
            : await this.faults.query<Record<string, unknown>>(
                `SELECT id, status, attempts, worker_id, allocated, waiting_reason, placed_at, queued_at, run_at, next_run_at,
                        created_at, updated_at, started_at, event_seq,
                        (SELECT json_agg(json_build_object('at', l.created_at, 'event', l.event, 'message', l.message) ORDER BY l.id)
                           FROM job_logs l WHERE l.job_id = j.id) AS log
                   FROM jobs j WHERE id = ANY($1::uuid[]) AND status <> 'completed' ORDER BY id LIMIT 5`,
                [ids],
              );
        return { submitted: ids.length, completed, other: terminal - completed, lost: ids.length - terminal, notCompleted, detail };
      }
      await sleep(250);
    }
  }

  /** Every worker GET /workers lists has nothing allocated (within a bounded wait). */
  async nothingBooked(timeoutMs = 15_000): Promise<void> {
    await expectEventually(
      async () => {
        const booked = (await listWorkers(this.api)).filter((w) => JSON.stringify(w.allocated) !== JSON.stringify(NOTHING_ALLOCATED));
        expect(booked.map((w) => ({ id: w.id, status: w.status, allocated: w.allocated }))).toEqual([]);
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** Every process the drills did not kill is running, and none wrote a line about an unhandled error. */
  expectNoCrash(): void {
    for (const process of this.live) if (!process.running) throw process.failure('crashed');
    expect(this.crashLines).toEqual([]);
  }

  /**
   * FLUSHDB of the suite's own Redis database. The suite runs on a database index no other test uses
   * (TEST_REDIS_URL of `npm run test:faults`); before flushing, every key there must be this run's
   * or a dead run's (no session on any of its databases), so a flush never takes a live run's keys.
   */
  async flushRedis(): Promise<number> {
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    await redis.connect();
    try {
      const db = Number(redis.options.db ?? 0);
      if (db === 0) throw new Error(`refusing FLUSHDB on Redis database 0 (${TEST_REDIS_URL}): the drills need a database index of their own`);
      const ours = `test:${runId()}:`;
      let cursor = '0';
      let keys = 0;
      const dead = new Map<string, boolean>();
      do {
        const [next, page] = await redis.scan(cursor, 'COUNT', 1000);
        cursor = next;
        keys += page.length;
        for (const key of page.filter((k) => !k.startsWith(ours))) {
          // A key of a run that was killed before its teardown is left over, not in use: that run has no database session.
          const run = /^test:([^:]+):/.exec(key)?.[1];
          if (run !== undefined && !dead.has(run)) dead.set(run, !(await this.faults.runIsConnected(run)));
          if (run === undefined || !dead.get(run)) {
            throw new Error(`refusing FLUSHDB on ${TEST_REDIS_URL}: key ${key} is not this run's, and its run may still be going`);
          }
        }
      } while (cursor !== '0');
      await redis.flushdb();
      return keys;
    } finally {
      redis.disconnect();
    }
  }

  /**
   * Closes every connection to the suite's own Redis database (CLIENT KILL by id, this connection
   * spared), as a Redis restart or a network blip would, keeping the data. Returns how many were closed.
   */
  async dropRedisClients(): Promise<number> {
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    await redis.connect();
    try {
      const db = Number(redis.options.db ?? 0);
      if (db === 0) throw new Error(`refusing to drop the clients of Redis database 0 (${TEST_REDIS_URL}): the drills need a database index of their own`);
      const list = (await redis.client('LIST')) as string;
      const self = Number(await redis.client('ID'));
      const ids = list
        .split('\n')
        .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=', 2))) as Record<string, string>)
        .filter((c) => Number(c.db) === db && Number(c.id) !== self)
        .map((c) => c.id);
      let dropped = 0;
      for (const id of ids) dropped += Number(await redis.client('KILL', 'ID', id));
      return dropped;
    } finally {
      redis.disconnect();
    }
  }

  /**
   * Redis stops answering for `ms` (CLIENT PAUSE ALL: connections stay open, commands wait), as a
   * Redis stuck on a slow disk or a long-running script would. It pauses the whole Redis server, which is
   * why the drills need the machine's Redis to themselves.
   */
  async pauseRedis(ms: number): Promise<void> {
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    await redis.connect();
    try {
      await redis.call('CLIENT', 'PAUSE', String(ms), 'ALL');
      await sleep(ms);
    } finally {
      redis.disconnect();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.faults.close(), this.probe.close()]);
  }

  private watch<T extends ServiceProcess>(process: T): T {
    process.onLine((line) => {
      if (CRASH_LINE.test(line)) this.crashLines.push(`${process.label}: ${line.slice(0, 500)}`);
    });
    return process;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
