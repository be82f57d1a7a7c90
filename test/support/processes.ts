import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JsonResponse, TestSpace } from './test-app.js';

/**
 * draconic processes forked from the build (`dist/src/main.js`, made by `pretest`), for the e2e tests
 * where API and workers must live in separate processes. STACK §5.4: stdio is piped, never inherited;
 * every child is tracked and killed in `stopAllProcesses()` (call it in afterAll) and, failing that,
 * when the test process exits; and each child preloads orphan-guard.mjs, so it also goes when the
 * test runner dies without a word.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');
const ORPHAN_GUARD = pathToFileURL(path.join(ROOT, 'test/support/orphan-guard.mjs')).href;
const KEPT_LINES = 200;
/** TEST_CHILD_OUTPUT=1 echoes every child's output to stderr (for debugging a spec). */
const ECHO = Boolean(process.env.TEST_CHILD_OUTPUT);

type Exit = { code: number | null; signal: NodeJS.Signals | null };

const live = new Set<ServiceProcess>();
process.once('exit', () => {
  for (const child of live) child.killNow();
});

/** Stops every child still running (SIGTERM, then SIGKILL after `deadlineMs`). For afterAll. */
export async function stopAllProcesses(deadlineMs = 5000): Promise<void> {
  await Promise.all([...live].map((child) => child.stop(deadlineMs)));
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One forked draconic process: its output (last lines kept for error messages), signals, and stop. */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  exit?: Exit;
  private readonly lines: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(
    readonly label: string,
    env: Record<string, string>,
  ) {
    this.child = fork(MAIN, [], {
      cwd: ROOT,
      env,
      execArgv: ['--import', ORPHAN_GUARD],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    if (this.child.pid === undefined) throw new Error(`${label}: fork failed`);
    this.pid = this.child.pid;
    live.add(this);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.addLine(line);
      });
      stream.on('end', () => partial && this.addLine(partial));
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The last lines the process wrote (stdout and stderr), for error messages. */
  output(): string {
    return this.lines.join('\n');
  }

  /** Sends a signal (SIGKILL by default: a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  killNow(): void {
    try {
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Waits for the process to exit; throws (with its output) after `timeoutMs`. */
  async waitForExit(timeoutMs = 10_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.failure(`did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM (after a SIGCONT, in case it was stopped), then SIGKILL if it is still there after `deadlineMs`. */
  async stop(deadlineMs = 10_000): Promise<Exit> {
    if (!this.running) return this.exit!;
    this.kill('SIGCONT');
    this.kill('SIGTERM');
    try {
      return await this.waitForExit(deadlineMs);
    } catch {
      this.kill('SIGKILL');
      return this.exited;
    }
  }

  /** Calls `listener` with every line written from now on (all of them, not only the last ones kept); returns the stop function. */
  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** Resolves with the first line (already written or to come) that matches; rejects on exit or timeout. */
  waitForLine(matches: (line: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (error: Error | null, line?: string) => {
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        if (error) reject(error);
        else resolve(line!);
      };
      const listener = (line: string) => matches(line) && done(null, line);
      const timer = setTimeout(() => done(this.failure(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.lineListeners.add(listener);
      void this.exited.then(() => done(this.failure(`exited before ${what}`)));
    });
  }

  failure(message: string): Error {
    const how = this.exit ? ` (exit code ${this.exit.code}, signal ${this.exit.signal})` : '';
    return new Error(`${this.label} (pid ${this.pid})${how}: ${message}; its last output:\n${this.output() || '(none)'}`);
  }

  private addLine(line: string): void {
    this.lines.push(line);
    if (ECHO) process.stderr.write(`[${this.label}] ${line}\n`);
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    for (const listener of this.lineListeners) listener(line);
  }
}

function childEnv(space: TestSpace, env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (process.env.HOME) base.HOME = process.env.HOME;
  return { ...base, ...space.env({ LOG_LEVEL: 'info', ...env }) };
}

/** A worker process (ROLE=worker). */
export class WorkerProcess extends ServiceProcess {
  constructor(
    label: string,
    readonly workerId: string,
    env: Record<string, string>,
  ) {
    super(label, env);
  }
}

/**
 * Forks a worker and resolves once it said it is ready (registered, consuming its queue). Its
 * WORKER_ID is `env.WORKER_ID`, else a fresh `w-<random>`.
 */
export async function startWorkerProcess(space: TestSpace, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<WorkerProcess> {
  const workerId = env.WORKER_ID ?? `w-${randomBytes(3).toString('hex')}`;
  const worker = new WorkerProcess(`worker ${workerId}`, workerId, childEnv(space, { ...env, ROLE: 'worker', WORKER_ID: workerId }));
  await worker.waitForLine((line) => line.includes(`worker ${workerId} ready`), 'ready line', timeoutMs);
  return worker;
}

/** The HTTP calls the e2e tests make, over a real connection (same shape as TestApp's). */
export interface ApiClient {
  get<T = any>(url: string): Promise<JsonResponse<T>>;
  post<T = any>(url: string, body: unknown): Promise<JsonResponse<T>>;
  patch<T = any>(url: string, body?: unknown): Promise<JsonResponse<T>>;
  submit(job: Record<string, unknown>): Promise<any>;
  getJob(id: string): Promise<any>;
}

/** An API process (ROLE=api by default) listening on its own free port. */
export class ApiProcess extends ServiceProcess implements ApiClient {
  constructor(
    label: string,
    readonly port: number,
    env: Record<string, string>,
  ) {
    super(label, env);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async request<T = any>(method: string, url: string, body?: unknown): Promise<JsonResponse<T>> {
    const response = await fetch(this.baseUrl + url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').includes('json') && text.length > 0;
    return { status: response.status, body: (json ? JSON.parse(text) : text) as T, headers: Object.fromEntries(response.headers) };
  }

  get<T = any>(url: string) {
    return this.request<T>('GET', url);
  }

  post<T = any>(url: string, body: unknown) {
    return this.request<T>('POST', url, body);
  }

  patch<T = any>(url: string, body?: unknown) {
    return this.request<T>('PATCH', url, body);
  }

  async submit(job: Record<string, unknown>): Promise<any> {
    const response = await this.post('/jobs', job);
    if (response.status !== 201 && response.status !== 200) {
      throw new Error(`${this.label}: POST /jobs answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
    return response.body;
  }

  async getJob(id: string): Promise<any> {
    const response = await this.get(`/jobs/${id}`);
    if (response.status !== 200) throw new Error(`${this.label}: GET /jobs/${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }
}

/** Forks an API process (ROLE=api unless `env.ROLE` says otherwise) and resolves once GET /health is 200. */
export async function startApiProcess(space: TestSpace, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ApiProcess> {
  const port = await freePort();
  const role = env.ROLE ?? 'api';
  const api = new ApiProcess(`${role} process :${port}`, port, childEnv(space, { ROLE: role, ...env, PORT: String(port) }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!api.running) throw api.failure('exited before it answered GET /health');
    try {
      if ((await api.get('/health')).status === 200) return api;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      api.kill();
      throw api.failure(`GET /health was not 200 within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
