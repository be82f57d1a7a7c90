/** One scheduler at a time (DESIGN §1). */
export abstract class LeaderElection {
  /** True while this process leads; a leader whose lease expired finds out here, and steps down at once. */
  abstract isLeader(): boolean;
  /**
   * The leadership epoch of this process's term, which the scheduler's placement statements check in
   * SQL (a deposed leader's writes do nothing); null when no other process can lead (nothing to fence).
   */
  abstract epoch(): number | null;
  /** Called with true when this process becomes the leader, false when it stops being it. */
  abstract onChange(listener: (leader: boolean) => void): void;
  /** Steps down at once (e.g. a fenced statement showed that another process leads now). */
  abstract relinquish(reason: string): void;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
}
