/**
 * Live-updates connections open at once per client address (MAX_STREAM_CONNECTIONS_PER_ADDRESS). Each
 * connection holds memory (its subscriptions, what is queued for it) and costs every event's fan-out,
 * and opening one costs a client next to nothing: without a bound, one client opening connections in a
 * loop holds the process's memory. Pure.
 */
export const TOO_MANY_CONNECTIONS = 'too many live-updates connections from this address (MAX_STREAM_CONNECTIONS_PER_ADDRESS): close some first';

export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  /** `max`: connections per address; 0 = no limit. */
  constructor(private readonly max: number) {}

  /** Whether one more connection from `address` may open now. */
  admits(address: string): boolean {
    return this.max === 0 || (this.open.get(address) ?? 0) < this.max;
  }

  opened(address: string): void {
    this.open.set(address, (this.open.get(address) ?? 0) + 1);
  }

  closed(address: string): void {
    const n = (this.open.get(address) ?? 0) - 1;
    if (n > 0) this.open.set(address, n);
    else this.open.delete(address);
  }

  /** Addresses with a connection open (for tests). */
  get addresses(): number {
    return this.open.size;
  }
}
