import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/processes.js';
import { createTestSpace, type TestSpace } from '../support/test-app.js';
import { runTempDir } from '../support/test-env.js';

/**
 * A supervisor (systemd, a process manager, a test harness) signals the pid it started. For
 * `npm start` and `npm run start:prod` that pid is npm's: npm forwards SIGTERM to its script's shell,
 * and the scripts `exec` node, so node itself is that shell's process and gets the signal. Without the
 * `exec`, the shell dies and node, re-parented, keeps serving.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GRACE_MS = 500;
/** How long a stop may take: the grace period, closing connections, npm's own exit. */
const STOP_WITHIN_MS = GRACE_MS + 10_000;

let space: TestSpace;
const started: NpmScript[] = [];

beforeAll(async () => {
  space = await createTestSpace('process_signals');
});

afterAll(async () => {
  for (const script of started) script.killAll();
});

/** Every process below `pid` now (children, their children, ...), from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

/** `npm <args>` in the project folder, as a person or a supervisor starts it. */
class NpmScript {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private output = '';
  /** Every process seen below npm, for the final check and for cleanup. */
  private readonly seen = new Set<number>();

  constructor(args: string[], env: Record<string, string>, cwd = ROOT) {
    this.child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new Error('spawn npm failed');
    this.pid = this.child.pid;
    for (const stream of [this.child.stdout!, this.child.stderr!]) stream.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    started.push(this);
  }

  /** The draconic node process below npm (scanned now), or undefined when there is none yet. */
  service(): number | undefined {
    const below = descendants(this.pid);
    for (const pid of below) this.seen.add(pid);
    return below.find((pid) => commandLine(pid).includes('dist/src/main.js'));
  }

  processesLeft(): number[] {
    return [...this.seen].filter(isAlive).filter((pid) => commandLine(pid).includes('dist/src/main.js'));
  }

  log(): string {
    return this.output;
  }

  killAll(): void {
    for (const pid of [this.pid, ...this.seen]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...space.env({ LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: String(GRACE_MS) }), ...extra };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

/** Starts `npm <args>` serving HTTP on a free port and waits for GET /health = 200. */
async function startServing(args: string[], extra: Record<string, string>, timeoutMs: number, cwd = ROOT): Promise<{ script: NpmScript; port: number }> {
  const port = await freePort();
  const script = new NpmScript(args, childEnv({ ROLE: 'all', PORT: String(port), ...extra }), cwd);
  const healthy = await until(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })).status === 200;
    } catch {
      return false;
    }
  }, timeoutMs);
  if (!healthy) throw new Error(`npm ${args.join(' ')}: GET /health was not 200 within ${timeoutMs} ms; output:\n${script.log()}`);
  return { script, port };
}

/** SIGTERM to npm's pid only; then npm, node and the port must all be gone within the grace period. */
async function expectStopsOnSigterm(script: NpmScript, port?: number): Promise<void> {
  const node = script.service();
  expect(node).toBeDefined();
  process.kill(script.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const npmGone = await Promise.race([
    script.exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_WITHIN_MS))),
  ]).finally(() => clearTimeout(timer));
  expect({ npmGone, output: npmGone ? '' : script.log() }).toEqual({ npmGone: true, output: '' });
  expect(await until(() => script.processesLeft().length === 0, 2000)).toBe(true);
  expect(isAlive(node!)).toBe(false);
  if (port !== undefined) expect(await portAccepts(port)).toBe(false);
  expect(script.log()).toContain('SIGTERM: shutting down');
}

/** The files `npm start` builds from, copied under the run's temp folder, with the project's node_modules linked. */
function projectCopy(): string {
  const copy = path.join(runTempDir(), 'npm-start-project');
  for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'migrations', 'test/support', 'ui']) {
    cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  return copy;
}

describe('signals reach node through npm', () => {
  it('SIGTERM to the pid of `npm run start:prod` (ROLE=all) stops the service and closes its port', async () => {
    const { script, port } = await startServing(['run', 'start:prod'], {}, 60_000);
    await expectStopsOnSigterm(script, port);
  }, 90_000);

  it('SIGTERM to the pid of `ROLE=worker npm run start:prod` stops the worker', async () => {
    const script = new NpmScript(['run', 'start:prod'], childEnv({ ROLE: 'worker' }));
    const ready = await until(() => / ready: \d+ slots/.test(script.log()), 60_000);
    expect({ ready, output: ready ? '' : script.log() }).toEqual({ ready: true, output: '' });
    await expectStopsOnSigterm(script);
  }, 90_000);

  it('a second SIGTERM (npm forwarding what the supervisor also sent node) does not cut the shutdown short', async () => {
    const { script, port } = await startServing(['run', 'start:prod'], {}, 60_000);
    const node = script.service();
    expect(node).toBeDefined();
    // A running job holds the shutdown for its grace period, so the second signal reaches a process
    // that is still shutting down (an idle one can be gone before it is sent).
    const base = `http://127.0.0.1:${port}`;
    const submitted = await fetch(`${base}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'noop', payload: { duration_ms: 60_000 } }),
    });
    expect(submitted.status).toBe(201);
    const { id } = (await submitted.json()) as { id: string };
    const running = await until(async () => ((await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string }).status === 'running', 20_000);
    expect(running).toBe(true);
    process.kill(node!, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill(node!, 'SIGTERM');
    const exit = await Promise.race([script.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), STOP_WITHIN_MS))]);
    // Node's default action for the second signal would end it by SIGTERM: npm then exits 143.
    expect({ exit, output: script.log().includes('SIGTERM again') ? '' : script.log() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
    expect(await portAccepts(port)).toBe(false);
  }, 90_000);

  it('SIGTERM to the pid of `npm start` (which builds first) stops the service and closes its port', async () => {
    // `npm start` builds dist/ from the sources first, as a person running it does: in a copy of the
    // project, because the build empties dist/ first, and other spec files running meanwhile start
    // processes from the project's own dist/.
    const { script, port } = await startServing(['start'], {}, 240_000, projectCopy());
    await expectStopsOnSigterm(script, port);
  }, 300_000);
});
