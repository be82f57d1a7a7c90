import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL for one process under test, so that its connections alone can
 * be cut: `blackhole` forwards nothing either way (a network split: queries hang, the server sees
 * idle sessions), `reset` closes every connection at once and each new one as it comes (connections
 * terminated, then refused), `pass` forwards again (a held connection carries on where it was).
 * `silence` forwards new connections but leaves the held ones silent for good, never closed: half-open
 * connections, as a database host gone or a NAT that forgot them leaves behind (TCP sees nothing).
 */
export class PgProxy {
  private mode: 'pass' | 'blackhole' | 'reset' | 'silence' = 'pass';
  private readonly pairs = new Set<{ client: Socket; server?: Socket; piped: boolean; dead?: boolean }>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(databaseUrl: string): Promise<PgProxy> {
    const url = new URL(databaseUrl);
    const server = createServer();
    const proxy = new PgProxy(server, { host: url.hostname, port: Number(url.port || 5432) });
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String((this.server.address() as AddressInfo).port);
    return url.toString();
  }

  set(mode: 'pass' | 'blackhole' | 'reset' | 'silence'): void {
    this.mode = mode;
    for (const pair of [...this.pairs]) {
      if (mode === 'reset') this.drop(pair);
      else if (mode === 'silence') {
        if (!pair.piped) pair.dead = true;
      } else if (mode === 'pass') this.forward(pair);
      else this.hold(pair);
    }
  }


  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'reset') return void client.destroy();
    const pair: { client: Socket; server?: Socket; piped: boolean } = { client, piped: false };
    this.pairs.add(pair);
    client.on('error', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    client.pause();
    if (this.mode === 'pass' || this.mode === 'silence') this.forward(pair);
  }

  private forward(pair: { client: Socket; server?: Socket; piped: boolean; dead?: boolean }): void {
    if (pair.dead) return;
    if (!pair.server) {
      pair.server = connect(this.target.port, this.target.host);
      pair.server.on('error', () => this.drop(pair));
      pair.server.on('close', () => this.drop(pair));
    }
    if (pair.piped) return;
    pair.piped = true;
    pair.client.pipe(pair.server);
    pair.server.pipe(pair.client);
    pair.client.resume();
    pair.server.resume();
  }

  private hold(pair: { client: Socket; server?: Socket; piped: boolean }): void {
    if (!pair.piped) return;
    pair.piped = false;
    pair.client.unpipe(pair.server);
    pair.server?.unpipe(pair.client);
    pair.client.pause();
    pair.server?.pause();
  }

  private drop(pair: { client: Socket; server?: Socket; piped: boolean }): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.server?.destroy();
  }
}
