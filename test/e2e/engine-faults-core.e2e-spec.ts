import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { aJob } from '../builders/job.builder.js';
import { jobLogs, leaderGauge, listWorkers, NOTHING_ALLOCATED } from '../support/engine.js';
import { PgFaults } from '../support/pg-faults.js';
import { PgProxy } from '../support/pg-proxy.js';
import { startApiProcess, startWorkerProcess, stopAllProcesses, type ApiClient, type ApiProcess, type WorkerProcess } from '../support/processes.js';
import { createTestSpace, expectEventually, type TestSpace } from '../support/test-app.js';

/**
 * Faults injected from the outside into real processes (one API, two workers, more where a test
 * needs them): PostgreSQL terminating the service's connections, one worker's connections cut or
 * held (through a proxy of its own), frozen processes (SIGSTOP/SIGCONT), SIGTERM while outside calls
 * are in flight. Nothing may be lost, run twice at once, crash, or stay booked.
 *
 * `small` (2 slots, 2 cpu units, 1 GB, its PostgreSQL through `proxy`) is the best fit for a
 * one-cpu job, so such jobs go there first and move to `large` when `small` is lost.
 */

const TIMING = { HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: '4', DATA_FETCH_ALLOW_PRIVATE: 'true' };

let space: TestSpace;
let faults: PgFaults;
let proxy: PgProxy;
let probe: Probe;
let api: ApiProcess;
let small: WorkerProcess;
let large: WorkerProcess;

beforeAll(async () => {
  space = await createTestSpace('faults_core');
  faults = await PgFaults.for(space);
  proxy = await PgProxy.start(space.databaseUrl);
  probe = await startProbe();
  api = await startApiProcess(space, TIMING);
  [small, large] = await Promise.all([
    startWorkerProcess(space, {
      ...TIMING,
      WORKER_ID: 'small',
      MAX_CONCURRENT_JOBS: '2',
      MAX_CPU_UNITS: '2',
      MAX_MEMORY_MB: '1024',
      DATABASE_URL: proxy.url(space.databaseUrl),
    }),
    startWorkerProcess(space, { ...TIMING, WORKER_ID: 'large' }),
  ]);
});

afterAll(async () => {
  await stopAllProcesses();
  await Promise.all([faults?.close(), proxy?.close(), probe?.close()]);
});

async function reaches(client: ApiClient, id: string, expected: Record<string, unknown>, timeoutMs = 15_000): Promise<any> {
  return expectEventually(async () => {
    const job = await client.getJob(id);
    expect(job).toMatchObject(expected);
    return job;
  }, { timeoutMs, intervalMs: 50 });
}

async function nothingBooked(client: ApiClient): Promise<void> {
  await expectEventually(async () => {
    for (const worker of await listWorkers(client)) expect({ id: worker.id, allocated: worker.allocated }).toEqual({ id: worker.id, allocated: NOTHING_ALLOCATED });
  });
}

function expectAlive(...processes: Array<ApiProcess | WorkerProcess>): void {
  for (const process of processes) if (!process.running) throw process.failure('crashed');
}

/** A data_fetch job whose first request the probe holds for `firstMs` (later requests are answered at once). */
const aFetch = (tag: string, firstMs: number, maxAttempts = 3) => ({
  type: 'data_fetch',
  payload: { url: `${probe.url}/?tag=${tag}&first_ms=${firstMs}` },
  retry_config: { max_attempts: maxAttempts, initial_delay_ms: 50 },
});

describe('PostgreSQL terminating the service connections every 10 ms for 3 s', () => {
  it('crashes no process, loses no job, stores every outcome and leaves nothing booked', async () => {
    const retry = { max_attempts: 10, initial_delay_ms: 50 };
    // A backlog that keeps every slot busy through the storm, and more jobs flowing in during it (a
    // batch the storm refused is not counted), so that starts, completions and failures are in
    // flight when their connections go.
    const backlog = Array.from({ length: 300 }, (_, i) => ({ type: 'noop', payload: { duration_ms: 100 + (i % 4) * 50 }, retry_config: retry }));
    expect((await api.post('/jobs/batch', { jobs: backlog })).status).toBe(201);
    let accepted = backlog.length;
    let flowing = true;
    const flow = (async () => {
      for (let i = 0; flowing; i += 1) {
        const jobs = Array.from({ length: 10 }, (_, k) => ({ type: 'noop', payload: { duration_ms: 50 + ((i + k) % 6) * 30 }, retry_config: retry }));
        const response = await api.post<{ items: unknown[] }>('/jobs/batch', { jobs }).catch(() => null);
        if (response?.status === 201) accepted += response.body.items.length;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const terminated = await faults.storm(3000);
    flowing = false;
    await flow;
    expect(terminated).toBeGreaterThan(0);
    expectAlive(api, small, large);

    const unfinished = () => faults.query(`SELECT id, status FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled', 'timeout')`);
    await expectEventually(async () => expect(await unfinished()).toEqual([]), { timeoutMs: 45_000, intervalMs: 250 });
    // Every job stored is completed (a batch may have been stored with its answer lost: at least those acknowledged).
    const ends = await faults.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM jobs GROUP BY status`);
    expect(ends.map((e) => e.status)).toEqual(['completed']);
    expect(ends[0]!.n).toBeGreaterThanOrEqual(accepted);
    // noop never fails: an attempt may have been lost to the storm, never stored as the handler's failure.
    expect(await faults.query(`SELECT job_id, message FROM job_logs WHERE level = 'error' AND data->'error'->>'code' = 'HANDLER_ERROR'`)).toEqual([]);
    await nothingBooked(api);
    expectAlive(api, small, large);
  });
});

describe('a running job whose outcome was never recorded', () => {
  it('is failed as OUTCOME_LOST on its live worker, retried by the rules, and its booking released', async () => {
    const job = await api.submit(aJob({ retry_config: { max_attempts: 2, initial_delay_ms: 50 } }));
    await reaches(api, job.id, { status: 'completed', attempts: 1 });
    // What a start whose answer was lost, or an outcome never written, leaves: running and booked on a
    // live worker that does not run it.
    await faults.query(
      `UPDATE jobs SET status = 'running', allocated = true, worker_id = 'large', started_at = now(),
              completed_at = NULL, result = NULL WHERE id = $1`,
      [job.id],
    );
    const done = await reaches(api, job.id, { status: 'completed', attempts: 2 });
    expect(done.error).toBeNull();
    const lost = (await jobLogs(api, job.id)).filter((l) => l.level === 'error');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(/^attempt 1 failed: worker large no longer runs this attempt/);
    expect(lost[0]!.data).toMatchObject({ error: { code: 'OUTCOME_LOST', worker_id: 'large' } });
    await nothingBooked(api);
  });
});

describe('a completion whose write fails', () => {
  it('is written again until PostgreSQL takes it, never turned into a handler failure', async () => {
    const job = await api.submit(aJob({ payload: { duration_ms: 800 }, retry_config: { max_attempts: 1 } }));
    await reaches(api, job.id, { status: 'running', worker_id: 'small' });
    proxy.set('reset'); // the worker's connections are cut, and refused from now on
    try {
      await small.waitForLine((l) => l.includes(job.id) && l.includes('could not store the completion of the job'), 'a failed completion write', 10_000);
    } finally {
      proxy.set('pass');
    }
    expect(await reaches(api, job.id, { status: 'completed' })).toMatchObject({ attempts: 1, error: null, result: { ok: true } });
    await small.waitForLine((l) => l.includes(job.id) && l.includes('wrote the completion of the job after'), 'the completion stored');
    expectAlive(small);
  });
});

describe('a worker that cannot renew its lease', () => {
  it('cut off from PostgreSQL, aborts its running job before the job is retried elsewhere', async () => {
    const job = await api.submit(aFetch('split', 60_000));
    await reaches(api, job.id, { status: 'running', worker_id: 'small', attempts: 1 });
    await probe.arrived(job.id, 1);
    proxy.set('blackhole'); // its queries hang: no heartbeat gets through
    try {
      await reaches(api, job.id, { status: 'completed', attempts: 2, worker_id: 'large' }, 20_000);
    } finally {
      proxy.set('pass');
    }
    const requests = probe.requestsOf(job.id);
    expect(requests).toHaveLength(2);
    const [first, second] = requests as [ProbeRequest, ProbeRequest];
    expect(first).toMatchObject({ key: job.id, answered: false, closedAt: expect.any(Number) }); // aborted by its worker
    expect(second).toMatchObject({ key: job.id, answered: true });
    expect(first.closedAt).toBeLessThanOrEqual(second.arrivedAt); // the two runs never overlapped
    await small.waitForLine((l) => l.includes(job.id) && l.includes('no heartbeat accepted within the lease'), 'self-fencing');
    const failures = (await jobLogs(api, job.id)).filter((l) => l.level === 'error');
    expect(failures.map((l) => [l.attempt, (l.data as any)?.error?.code])).toEqual([[1, 'WORKER_LOST']]);
    await expectEventually(async () => expect((await listWorkers(api)).find((w) => w.id === 'small')?.status).toBe('active'), { timeoutMs: 10_000 });
  });

  it('frozen past WORKER_LOST_SECONDS, aborts its job first thing when it resumes, and stores nothing for it', async () => {
    const job = await api.submit(aFetch('frozen', 60_000));
    await reaches(api, job.id, { status: 'running', worker_id: 'small', attempts: 1 });
    await probe.arrived(job.id, 1);
    small.kill('SIGSTOP');
    try {
      await reaches(api, job.id, { status: 'completed', attempts: 2, worker_id: 'large' }, 20_000);
    } finally {
      small.kill('SIGCONT');
    }
    // Its lease lapsed while frozen: it aborts before it even asks PostgreSQL whether it was declared lost.
    const lines = () => small.output().split('\n');
    await expectEventually(() => expect(lines().findIndex((l) => l.includes(job.id) && l.includes('no heartbeat accepted within the lease'))).toBeGreaterThanOrEqual(0));
    const fencedAt = lines().findIndex((l) => l.includes(job.id) && l.includes('no heartbeat accepted within the lease'));
    await expectEventually(() => expect(lines().slice(fencedAt).some((l) => l.includes('this worker was declared lost'))).toBe(true));
    await expectEventually(() => expect(probe.requestsOf(job.id)[0]).toMatchObject({ key: job.id, answered: false, closedAt: expect.any(Number) }));
    const failures = (await jobLogs(api, job.id)).filter((l) => l.level === 'error');
    expect(failures.map((l) => [l.attempt, (l.data as any)?.error?.code])).toEqual([[1, 'WORKER_LOST']]);
    await expectEventually(async () => expect((await listWorkers(api)).find((w) => w.id === 'small')?.status).toBe('active'), { timeoutMs: 10_000 });
    await nothingBooked(api);
  });
});

describe('SIGTERM while data_fetch and send_email talk to the outside world', () => {
  it('lets both finish with their HTTP and SMTP clients, then stops', async () => {
    const smtp = await startSlowSmtp(1500);
    try {
      // The smallest worker: one-cpu jobs go there.
      const drains = await startWorkerProcess(space, {
        ...TIMING,
        WORKER_ID: 'drains',
        MAX_CONCURRENT_JOBS: '2',
        MAX_CPU_UNITS: '2',
        MAX_MEMORY_MB: '256',
        SHUTDOWN_GRACE_MS: '10000',
        SMTP_URL: smtp.url,
      });
      const fetch = await api.submit(aFetch('drain', 1500, 1));
      const mail = await api.submit({ type: 'send_email', payload: { to: 'ops@example.com', subject: 'drained', text: 'hello' }, retry_config: { max_attempts: 1 } });
      await reaches(api, fetch.id, { status: 'running', worker_id: 'drains' });
      await reaches(api, mail.id, { status: 'running', worker_id: 'drains' });
      await probe.arrived(fetch.id, 1);
      await smtp.receiving();
      drains.kill('SIGTERM');

      expect(await reaches(api, fetch.id, { status: 'completed' })).toMatchObject({ attempts: 1, error: null, result: { status: 200 } });
      expect(await reaches(api, mail.id, { status: 'completed' })).toMatchObject({ attempts: 1, error: null, result: { delivery: 'smtp' } });
      expect(smtp.messageIds).toEqual([`<${mail.id}@draconic>`]);
      expect((await drains.waitForExit()).code).toBe(0);
    } finally {
      await smtp.close();
    }
  });
});

describe('a frozen scheduler leader', () => {
  it('is replaced while frozen, steps down when it resumes, and every job still runs once', async () => {
    const second = await startApiProcess(space, TIMING);
    const gauges = async (processes: ApiProcess[]) => Promise.all(processes.map((p) => leaderGauge(p)));
    // One of the two leads (normally the first; under a heavy load a late renewal may have moved it).
    const [leader, follower] = await expectEventually(async () => {
      const [a, b] = await gauges([api, second]);
      expect([a, b].sort()).toEqual([0, 1]);
      return a === 1 ? [api, second] : [second, api];
    });
    leader.kill('SIGSTOP');
    try {
      await expectEventually(async () => expect(await leaderGauge(follower)).toBe(1), { timeoutMs: 15_000, intervalMs: 100 });
      const job = await follower.submit(aJob());
      await reaches(follower, job.id, { status: 'completed', attempts: 1 });
    } finally {
      leader.kill('SIGCONT');
    }
    await expectEventually(async () => expect(await gauges([leader, follower])).toEqual([0, 1]));
    await leader.waitForLine((l) => l.includes('no longer the scheduler leader'), 'stepping down');
    const jobs = [];
    for (let i = 0; i < 10; i += 1) jobs.push(await (i % 2 ? leader : follower).submit(aJob({ payload: { duration_ms: 20 } })));
    for (const job of jobs) await reaches(follower, job.id, { status: 'completed', attempts: 1 });
    await nothingBooked(follower);
    expectAlive(api, second);
  });
});

interface ProbeRequest {
  key: string | undefined;
  arrivedAt: number;
  closedAt?: number;
  answered: boolean;
}

interface Probe {
  url: string;
  requestsOf(key: string): ProbeRequest[];
  /** Waits until `count` requests carrying this idempotency key have arrived. */
  arrived(key: string, count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The outside world of data_fetch: records every request (its Idempotency-Key, when it arrived,
 * when its connection closed, whether it was answered) and holds the first request of each key for
 * `first_ms` before answering (the others are answered at once).
 */
async function startProbe(): Promise<Probe> {
  const requests: ProbeRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://probe');
    const key = req.headers['idempotency-key'] as string | undefined;
    const entry: ProbeRequest = { key, arrivedAt: Date.now(), answered: false };
    requests.push(entry);
    const holdMs = requests.filter((r) => r.key === key).length === 1 ? Number(url.searchParams.get('first_ms') ?? 0) : 0;
    const timer = setTimeout(() => {
      entry.answered = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    }, holdMs);
    res.on('close', () => {
      clearTimeout(timer);
      entry.closedAt = Date.now();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const requestsOf = (key: string) => requests.filter((r) => r.key === key);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requestsOf,
    arrived: (key, count) => expectEventually(() => expect(requestsOf(key).length).toBeGreaterThanOrEqual(count)).then(() => undefined),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An SMTP server that takes `delayMs` to accept each message, and keeps the Message-IDs it accepted. */
async function startSlowSmtp(delayMs: number) {
  let receiving = false;
  const messageIds: string[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      receiving = true;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const id = /^message-id:\s*(\S+)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
        setTimeout(() => {
          if (id) messageIds.push(id);
          callback();
        }, delayMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    messageIds,
    receiving: () => expectEventually(() => expect(receiving).toBe(true)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
