/**
 * How many replays are read from PostgreSQL at once. Each reads up to 10,001 job_logs rows on a
 * connection of the pool that also serves the REST API and the scheduler, and `replay` is not behind
 * the REST rate limit: one in flight per client, and MAX_REPLAYS_IN_FLIGHT per process, the others
 * answered at once with a message saying to send it again. Pure.
 */

/** Under half the default pool (DB_POOL_SIZE 10): the API and the scheduler keep the rest. */
export const MAX_REPLAYS_IN_FLIGHT = 4;

export const REPLAY_IN_FLIGHT_ERROR =
  'a replay of this connection is still being answered: send the next one after its acknowledgement';
export const REPLAYS_BUSY_ERROR = `this server is answering ${MAX_REPLAYS_IN_FLIGHT} replays already: replay again in a moment`;

export class ReplayGate {
  private inFlight = 0;
  private readonly busy = new WeakSet<object>();

  /** A place for one replay of `client`, to leave when it is answered; or why there is none now. */
  enter(client: object): { leave(): void } | { error: string } {
    if (this.busy.has(client)) return { error: REPLAY_IN_FLIGHT_ERROR };
    if (this.inFlight >= MAX_REPLAYS_IN_FLIGHT) return { error: REPLAYS_BUSY_ERROR };
    this.busy.add(client);
    this.inFlight += 1;
    let left = false;
    return {
      leave: () => {
        if (left) return;
        left = true;
        this.busy.delete(client);
        this.inFlight -= 1;
      },
    };
  }
}
