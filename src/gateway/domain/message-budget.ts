/**
 * How many messages (subscribe, unsubscribe, replay) one Socket.IO connection may send: a bucket of
 * `burst` that refills at `perSecond`. Every message costs the one event loop that also runs jobs,
 * so a client sending thousands a second must be told to slow down, not served. Pure: `now` is given.
 */
export class MessageBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one message's worth; false when the connection is over its budget. */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The budget of a live-updates connection: 50 messages a second, in bursts of up to 200. */
export const MESSAGES_PER_SECOND = 50;
export const MESSAGE_BURST = 200;

export const OVER_BUDGET_ERROR =
  `too many messages on this connection: at most ${MESSAGES_PER_SECOND} a second (bursts of ${MESSAGE_BURST}); wait a moment and send it again`;
