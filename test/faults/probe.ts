import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the probe received: a span of one run of a job, as the outside world saw it. */
export interface Span {
  /** The request's Idempotency-Key: data_fetch sends the job id. */
  key: string;
  arrivedAt: number;
  /** When the probe answered it or the client closed it; undefined while it is still open. */
  endedAt?: number;
  answered: boolean;
}

/**
 * The outside world of the drills' data_fetch jobs: a local HTTP server that answers every request
 * after `?hold=<ms>` and records its span. Two spans of one job open at the same time are two runs
 * of that job at once, the thing the drills count as "overlapping".
 */
export class Probe {
  private spans: Span[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Probe> {
    let probe: Probe | undefined;
    const server = createServer((req, res) => probe!.handle(req.url ?? '/', String(req.headers['idempotency-key'] ?? ''), res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    probe = new Probe(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return probe;
  }

  /** The URL a job's payload points at: the probe holds each request for `holdMs`. */
  target(holdMs: number): string {
    return `${this.url}/run?hold=${holdMs}`;
  }

  /** Forgets the spans recorded so far (each drill counts its own). */
  reset(): void {
    this.spans = [];
  }

  get requests(): number {
    return this.spans.length;
  }

  /** Jobs with two spans open at the same time (a span still open counts as open until now). */
  overlapping(): string[] {
    const byKey = new Map<string, Span[]>();
    for (const span of this.spans) {
      const list = byKey.get(span.key) ?? [];
      list.push(span);
      byKey.set(span.key, list);
    }
    const found: string[] = [];
    for (const [key, spans] of byKey) {
      if (spans.length < 2) continue;
      const sorted = [...spans].sort((a, b) => a.arrivedAt - b.arrivedAt);
      let openUntil = sorted[0]!.endedAt ?? Number.POSITIVE_INFINITY;
      for (const span of sorted.slice(1)) {
        if (span.arrivedAt < openUntil) {
          found.push(key);
          break;
        }
        openUntil = Math.max(openUntil, span.endedAt ?? Number.POSITIVE_INFINITY);
      }
    }
    return found;
  }

  /** Spans still open (a request neither answered nor closed). */
  open(): Span[] {
    return this.spans.filter((s) => s.endedAt === undefined);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private handle(rawUrl: string, key: string, res: import('node:http').ServerResponse): void {
    const hold = Number(new URL(rawUrl, 'http://probe').searchParams.get('hold') ?? 0);
    const span: Span = { key, arrivedAt: Date.now(), answered: false };
    this.spans.push(span);
    const end = () => {
      span.endedAt ??= Date.now();
    };
    const timer = setTimeout(() => {
      span.answered = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}', end);
    }, hold);
    res.on('close', () => {
      clearTimeout(timer);
      end();
    });
  }
}
