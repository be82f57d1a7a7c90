import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { ApiProcess, freePort, stopAllProcesses } from '../support/processes.js';
import { expectEventually } from '../support/test-app.js';
import { runTempDir } from '../support/test-env.js';

/**
 * The embedded mode (DESIGN §9), as a newcomer gets it: neither DATABASE_URL nor REDIS_URL,
 * PGlite in a temporary DATA_DIR, the queue and the events in-process.
 */
const dataDir = mkdtempSync(join(runTempDir(), 'embedded-'));
let api: ApiProcess;

/** Forks `node dist/src/main.js` with no database or Redis URL (empty, so a local .env cannot fill them). */
async function embeddedProcess(label: string, extra: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DATABASE_URL: '',
    REDIS_URL: '',
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '500',
    EXPORT_DIR: join(dataDir, 'exports'),
    MAIL_OUTBOX_DIR: join(dataDir, 'outbox'),
    ...extra,
  };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return new ApiProcess(`${label} :${port}`, port, env);
}

/** Starts an embedded service and waits until GET /health answers 200. */
async function startEmbedded(): Promise<ApiProcess> {
  const proc = await embeddedProcess('embedded');
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!proc.running) throw new Error(`embedded process exited early:\n${proc.output()}`);
    try {
      if ((await proc.get('/health')).status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`embedded process not healthy in time:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const done = (id: string, status = 'completed') =>
  expectEventually(
    async () => {
      const job = await api.getJob(id);
      expect(job.status).toBe(status);
      return job;
    },
    { timeoutMs: 20_000 },
  );

beforeAll(async () => {
  api = await startEmbedded();
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('embedded mode', () => {
  it('says plainly at boot that it is embedded, where the data lives and how to switch', () => {
    expect(api.output()).toContain('EMBEDDED MODE');
    expect(api.output()).toContain(dataDir);
    expect(api.output()).toContain('DATABASE_URL=');
    expect(api.output()).toContain('REDIS_URL=');
    expect(api.output()).toContain(`listening on  http://localhost:${api.port}`);
    expect(api.output()).not.toMatch(/\u001b\[|InstanceLoader|RouterExplorer/);
  });

  it('reports health without Redis', async () => {
    const health = await api.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up', mode: 'in-process' } } });
  });

  it('serves Swagger UI', async () => {
    expect((await api.get('/docs')).status).toBe(200);
  });

  it('serves the dashboard at /ui/, where / leads', async () => {
    const page = await api.get('/ui/');
    expect(page.status).toBe(200);
    expect(String(page.body)).toMatch(/<script type="module" crossorigin src="\/ui\/assets\/[^"]+\.js"><\/script>/);
    const root = await fetch(`${api.baseUrl}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/ui/']);
  });

  it('runs a submitted job to completion', async () => {
    const job = await api.submit({ type: 'noop', payload: { duration_ms: 50 } });
    expect(await done(job.id)).toMatchObject({ attempts: 1, result: { ok: true } });
  });

  it('runs the seed examples to an end', async () => {
    const exported = await api.submit({ type: 'data_export', priority: 'high', payload: { user_id: 123, format: 'csv' }, resource_requirements: { cpu_units: 2, memory_mb: 512 } });
    const other = await api.submit({ type: 'noop' });
    const report = await api.submit({ type: 'report_generation', payload: { report_type: 'daily_summary', date: '2024-01-15' }, depends_on: [exported.id, other.id] });
    await expectEventually(
      async () => {
        const job = await api.getJob(report.id);
        expect(['completed', 'failed', 'cancelled']).toContain(job.status);
      },
      { timeoutMs: 30_000 },
    );
  });

  it('runs a diamond in dependency order', async () => {
    const response = await api.post('/jobs/batch', {
      jobs: [
        { ref: 'a', type: 'noop', payload: { duration_ms: 50 } },
        { ref: 'b', type: 'noop', depends_on: ['a'] },
        { ref: 'c', type: 'noop', depends_on: ['a'] },
        { ref: 'd', type: 'noop', depends_on: ['b', 'c'] },
      ],
    });
    expect(response.status).toBe(201);
    const [a, b, c, d] = await Promise.all(response.body.items.map((i: any) => done(i.id)));
    expect(Date.parse(b.started_at)).toBeGreaterThanOrEqual(Date.parse(a.completed_at));
    expect(Date.parse(c.started_at)).toBeGreaterThanOrEqual(Date.parse(a.completed_at));
    expect(Date.parse(d.started_at)).toBeGreaterThanOrEqual(Math.max(Date.parse(b.completed_at), Date.parse(c.completed_at)));
  });

  it('retries with backoff', async () => {
    const job = await api.submit({ type: 'noop', payload: { fail_attempts: 2 }, retry_config: { max_attempts: 3, initial_delay_ms: 200, backoff_multiplier: 2 } });
    const finished = await done(job.id);
    expect(finished.attempts).toBe(3);
    const logs = (await api.get(`/jobs/${job.id}/logs`)).body.items as any[];
    const starts = logs.filter((l) => /^attempt \d started/.test(l.message)).map((l) => Date.parse(l.timestamp));
    expect(starts).toHaveLength(3);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(200);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(400);
  });

  it('runs a delayed job no earlier than its run_at, and a delayed dependent after its dependency', async () => {
    const runAt = new Date(Date.now() + 1000).toISOString();
    const delayed = await api.submit({ type: 'noop', run_at: runAt });
    expect(delayed).toMatchObject({ status: 'pending', run_at: runAt, waiting_reason: { code: 'SCHEDULED', until: runAt } });
    const dependent = await api.submit({ type: 'noop', depends_on: [delayed.id], delay_ms: 1500 });
    expect(dependent.status).toBe('blocked');
    const first = await done(delayed.id);
    expect(Date.parse(first.started_at)).toBeGreaterThanOrEqual(Date.parse(runAt));
    const second = await done(dependent.id);
    expect(Date.parse(second.started_at)).toBeGreaterThanOrEqual(Date.parse(dependent.run_at));
    const refused = await api.post('/jobs', { type: 'noop', run_at: '2030-01-15T09:00:00' });
    expect(refused.status).toBe(400);
  });

  it('resumes a failed chain with POST /jobs/{id}/retry, and bulk-cancels and deletes', async () => {
    const response = await api.post('/jobs/batch', {
      jobs: [
        { ref: 'root', type: 'noop', payload: { fail_attempts: 1 }, retry_config: { max_attempts: 1 } },
        { ref: 'next', type: 'noop', depends_on: ['root'] },
      ],
    });
    const [root, next] = response.body.items as any[];
    await done(root.id, 'failed');
    await done(next.id, 'cancelled');
    expect((await api.post(`/jobs/${root.id}/retry`, {})).status).toBe(200);
    expect((await done(next.id)).status).toBe('completed');
    expect((await done(root.id)).attempts).toBe(2);

    const waiting = await api.submit({ type: 'noop', payload: { duration_ms: 60_000 } });
    const bulk = await api.post('/jobs/bulk/cancel', { ids: [waiting.id, root.id] });
    expect(bulk.body).toMatchObject({ matched: 2, changed: 1 });
    await expectEventually(async () => expect((await api.request('DELETE', `/jobs/${root.id}`)).status).toBe(204));
  });

  it('times out a job whose handler never returns', async () => {
    const job = await api.submit({ type: 'noop', payload: { duration_ms: 60_000, ignore_signal: true }, timeout_seconds: 1, retry_config: { max_attempts: 1 } });
    expect(await done(job.id, 'timeout')).toMatchObject({ error: { code: 'TIMEOUT' } });
  });

  it('cancels a running job', async () => {
    const job = await api.submit({ type: 'noop', payload: { duration_ms: 60_000 } });
    await done(job.id, 'running');
    const cancelled = await api.patch(`/jobs/${job.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED_BY_USER' } });
    await expectEventually(async () => {
      const workers = (await api.get('/workers')).body.items as any[];
      expect(workers.every((w) => w.allocated.slots === 0)).toBe(true);
    });
  });

  it('streams live events on /jobs/stream', async () => {
    const socket = io(`${api.baseUrl}/jobs/stream`, { transports: ['websocket'], reconnection: false });
    const events: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const job = await api.submit({ type: 'noop' });
      socket.on('job_update', (u: { job_id: string; event: string }) => u.job_id === job.id && events.push(u.event));
      await expectEventually(() => expect(events).toContain('job_completed'));
      const replay = await socket.emitWithAck('replay', { job_id: job.id, after_sequence: 0 });
      expect(replay.events.map((e: { event: string }) => e.event)).toEqual(['job_created', 'job_started', 'job_completed']);
    } finally {
      socket.close();
    }
  });

  it('fires a one-second schedule, one job per tick, and triggers and pauses it', async () => {
    const created = await api.post('/schedules', { name: 'embedded-every-second', cron: '* * * * * *', job: { type: 'noop' }, overlap_policy: 'allow' });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const jobsOf = async () => (await api.get(`/jobs?schedule_id=${id}&limit=200`)).body.items as Array<{ id: string; scheduled_for: string }>;
    await expectEventually(async () => expect((await jobsOf()).length).toBeGreaterThanOrEqual(3), { timeoutMs: 15_000 });
    expect((await api.post(`/schedules/embedded-every-second/trigger`, {})).status).toBe(201);
    expect((await api.patch(`/schedules/${id}`, { paused: true })).status).toBe(200);
    const jobs = await jobsOf();
    const ticks = jobs.map((j) => j.scheduled_for);
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const job of jobs) await done(job.id);
  });

  it('goes on serving after statements the database refused (a taken schedule name): the one session is reset for the next connection', async () => {
    const name = 'embedded-taken-name';
    expect((await api.request('PUT', `/schedules/${name}`, { cron: '0 0 1 1 *', job: { type: 'noop' } })).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      expect((await api.post('/schedules', { name, cron: '0 0 1 1 *', job: { type: 'noop' } })).status).toBe(409);
    }
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the scheduler's rounds run on the same connection meanwhile
    for (const url of ['/schedules', '/jobs', '/queues', '/workers']) expect((await api.get(url)).status).toBe(200);
    const job = await api.submit({ type: 'noop' });
    await done(job.id);
    expect(api.output()).not.toMatch(/already exists/);
  });

  it('refuses a second process on the same DATA_DIR', async () => {
    const intruder = await embeddedProcess('second embedded');
    const exit = await intruder.waitForExit(30_000);
    expect(exit.code).toBe(1);
    expect(intruder.output()).toContain(`DATA_DIR ${dataDir} is in use by another draconic process`);
  });

  it('names what is wrong with a DATA_DIR that is a file, in one line without a stack trace', async () => {
    const file = join(dataDir, 'not-a-folder');
    await writeFile(file, '');
    for (const dir of [file, join(file, 'sub')]) {
      const refused = await embeddedProcess('embedded on a file', { DATA_DIR: dir });
      expect((await refused.waitForExit(30_000)).code).toBe(1);
      expect(refused.output()).toContain(`draconic: DATA_DIR ${dir} cannot hold the embedded database: it, or a folder on its path, is a file; give DATA_DIR a folder`);
      expect(refused.output()).not.toMatch(/\n\s+at /);
    }
  });

  it('refuses ROLE=worker without DATABASE_URL and REDIS_URL', async () => {
    const worker = await embeddedProcess('embedded worker', { ROLE: 'worker', DATA_DIR: join(dataDir, 'other') });
    const exit = await worker.waitForExit(30_000);
    expect(exit.code).toBe(1);
    expect(worker.output()).toContain('ROLE=worker needs DATABASE_URL and REDIS_URL');
  });

  it('stops on SIGTERM while jobs run and are placed, with no error and no stack trace', async () => {
    const burst = await api.post('/jobs/batch', { jobs: Array.from({ length: 100 }, () => ({ type: 'noop', payload: { duration_ms: 30 } })) });
    expect(burst.status).toBe(201);
    await api.submit({ type: 'noop', payload: { duration_ms: 60_000 } });
    const lines: string[] = [];
    const stopListening = api.onLine((line) => lines.push(line));
    const exit = await api.stop(20_000);
    stopListening();
    expect(exit).toEqual({ code: 0, signal: null });
    const problems = lines.filter((l) => /"level":(50|60)/.test(l) || /^\s+at /.test(l) || /Error:/.test(l));
    expect(problems).toEqual([]);
    expect(lines.join('\n')).toContain('SIGTERM: shutting down');
    api = await startEmbedded();
  }, 60_000);

  it('loses no job to a kill -9 while jobs are stored and run: after a restart each one completes', async () => {
    const ids: string[] = [];
    for (let b = 0; b < 4; b++) {
      const batch = await api.post('/jobs/batch', { jobs: Array.from({ length: 50 }, () => ({ type: 'noop', payload: { duration_ms: 50 } })) });
      expect(batch.status).toBe(201);
      ids.push(...(batch.body.items as Array<{ id: string }>).map((i) => i.id));
    }
    api.kill('SIGKILL');
    expect((await api.waitForExit(10_000)).signal).toBe('SIGKILL');
    api = await startEmbedded();
    await expectEventually(
      async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await api.getJob(id)).status));
        expect(statuses.filter((s) => s !== 'completed')).toEqual([]);
      },
      { timeoutMs: 60_000 },
    );
  }, 120_000);

  it('keeps its jobs across a restart', async () => {
    const job = await api.submit({ type: 'noop', idempotency_key: 'survives-restart' });
    await done(job.id);
    await api.stop(20_000);
    api = await startEmbedded();
    expect(await api.getJob(job.id)).toMatchObject({ id: job.id, status: 'completed', idempotency_key: 'survives-restart' });
    const next = await api.submit({ type: 'noop' });
    await done(next.id);
  });
});
