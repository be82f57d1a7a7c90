/** One scheduler at a time (DESIGN §1). */
export abstract class LeaderElection {
  abstract isLeader(): boolean;
  /** Called with true when this process becomes the leader, false when it stops being it. */
  abstract onChange(listener: (leader: boolean) => void): void;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
}
