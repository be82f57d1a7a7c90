import { LeaderElection } from './leader-election.js';

/** LeaderElection when no other process can schedule (embedded database or in-process messaging). */
export class SingleProcessLeadership extends LeaderElection {
  private readonly listeners: Array<(leader: boolean) => void> = [];
  private leader = false;

  isLeader(): boolean {
    return this.leader;
  }

  /** Nothing to fence: no other process can schedule. */
  epoch(): number | null {
    return null;
  }

  /** Nobody can take over from the only process, so there is nothing to give up. */
  relinquish(): void {}

  onChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.set(true);
  }

  async stop(): Promise<void> {
    this.set(false);
  }

  private set(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    for (const listener of this.listeners) listener(leader);
  }
}
