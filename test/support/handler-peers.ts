/** Real peers for the built-in handlers' e2e specs: a local HTTP server, a local SMTP server, temp folders. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { expectEventually, type TestApp } from './test-app.js';
import { runTempDir } from './test-env.js';

export const USERS = [
  { id: 1, user_id: 123, name: 'Ada Lovelace', team: 'core', amount: 30, note: 'likes "engines", commas' },
  { id: 2, user_id: 7, name: 'Grace Hopper', team: 'navy', amount: 45, note: 'line one\nline two' },
  { id: 3, user_id: 123, name: 'Linus', team: 'core', amount: 12, note: '<b>bold</b>' },
  { id: 4, user_id: 9, name: 'Ken', team: 'core', amount: 8, note: null },
];

export interface HttpPeer {
  url: string;
  /** Requests received per path (without query). */
  hits: Map<string, number>;
  /** Paths whose request the client closed before the response ended. */
  aborted: string[];
  /** The last request /echo received. */
  lastEcho?: { method: string; headers: Record<string, unknown>; body: string };
  close(): Promise<void>;
}

/**
 * Routes: /users (JSON array), /wrapped (JSON {records}), /text, /latin1, /echo, /slow?ms=,
 * /flaky/<key>?fails=n (503 n times, then JSON), /huge (5 MB chunked), /huge-declared (content-length
 * 5 MB), /redirect/<n> (302 chain to /redirect/0, which answers JSON), /status/<code>.
 */
export async function startHttpPeer(): Promise<HttpPeer> {
  const flaky = new Map<string, number>();
  const peer = { hits: new Map<string, number>(), aborted: [] as string[] } as HttpPeer;
  const json = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://peer');
    const path = url.pathname;
    peer.hits.set(path, (peer.hits.get(path) ?? 0) + 1);
    res.on('close', () => {
      if (!res.writableFinished) peer.aborted.push(path);
    });
    const [, first, second] = path.split('/');
    if (path === '/users') return json(res, 200, USERS);
    if (path === '/wrapped') return json(res, 200, { records: USERS, total: USERS.length });
    if (path === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('hello from the peer');
    }
    if (path === '/echo') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      peer.lastEcho = { method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      return json(res, 200, { method: req.method, received: peer.lastEcho.body.length });
    }
    if (path === '/slow') {
      const timer = setTimeout(() => json(res, 200, { slow: true }), Number(url.searchParams.get('ms') ?? 5000));
      res.on('close', () => clearTimeout(timer));
      return undefined;
    }
    if (first === 'flaky') {
      const seen = (flaky.get(second) ?? 0) + 1;
      flaky.set(second, seen);
      if (seen <= Number(url.searchParams.get('fails') ?? 1)) return json(res, 503, { error: 'try again later' });
      return json(res, 200, [{ attempt: seen }]);
    }
    if (path === '/huge' || path === '/huge-declared') {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const total = 5 * 1024 * 1024;
      res.writeHead(200, { 'content-type': 'text/plain', ...(path === '/huge-declared' ? { 'content-length': String(total) } : {}) });
      let sent = 0;
      const pump = () => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
        return undefined;
      };
      return pump();
    }
    if (first === 'redirect') {
      const n = Number(second);
      if (n <= 0) return json(res, 200, { redirected: true });
      res.writeHead(302, { location: `/redirect/${n - 1}` });
      return res.end();
    }
    if (first === 'status') return json(res, Number(second), { status: Number(second) });
    return json(res, 404, { error: 'no such route' });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  peer.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return peer;
}

export interface SmtpPeer {
  url: string;
  /** Messages received, parsed, with the envelope recipients. */
  messages: Array<ParsedMail & { envelopeTo: string[] }>;
  close(): Promise<void>;
}

/** A local SMTP server (no TLS, no auth) that keeps every message it receives. */
export async function startSmtpPeer(): Promise<SmtpPeer> {
  const messages: SmtpPeer['messages'] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          messages.push(Object.assign(mail, { envelopeTo: session.envelope.rcptTo.map((r) => r.address) }));
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A fresh folder in this run's temp folder; remove it with removeTempDir (the teardown removes the rest). */
export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(runTempDir(), `${label}-`));
}

export function removeTempDir(dir: string | undefined): Promise<void> {
  return dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve();
}

export const TERMINAL = ['completed', 'failed', 'timeout', 'cancelled'];

/** Polls GET /jobs/:id until the job is terminal (or in one of `statuses`), and returns it. */
export function waitForJob(app: TestApp, id: string, statuses = TERMINAL, timeoutMs = 20_000): Promise<any> {
  return expectEventually(
    async () => {
      const job = await app.getJob(id);
      if (!statuses.includes(job.status)) throw new Error(`job ${id} is ${job.status}, waiting for ${statuses.join('|')}`);
      return job;
    },
    { timeoutMs },
  );
}

/** Submits a job and waits for it to end `completed`; fails with its error otherwise. */
export async function runToCompletion(app: TestApp, job: Record<string, unknown>, timeoutMs?: number): Promise<any> {
  const submitted = await app.submit(job);
  const done = await waitForJob(app, submitted.id, TERMINAL, timeoutMs);
  if (done.status !== 'completed') throw new Error(`job ${done.id} (${done.type}) ended ${done.status}: ${JSON.stringify(done.error)}`);
  return done;
}
