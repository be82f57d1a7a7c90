import type { DispatchedJobData } from './job-dispatcher.js';

/** The consuming end of a worker's queue: Bull, or the in-process queue (DESIGN §1, §9). */
export abstract class WorkerQueue {
  /** Starts calling `run` for dispatched jobs, at most `concurrency` at a time. */
  abstract start(concurrency: number, run: (data: DispatchedJobData) => Promise<void>): Promise<void>;
  /** Stops taking new jobs (running ones go on). */
  abstract pause(): Promise<void>;
  /** After a clean stop (nothing runs, nothing placed is left): removes what the queue keeps. */
  async discard(): Promise<void> {}
  /**
   * Stops consuming for good and leaves what the queue keeps as it is: the worker id, and with it the
   * queue, belongs to another process now (a replaced worker), whose hand-overs it holds.
   */
  async letGo(): Promise<void> {
    await this.pause();
  }
  /** Jobs already started that the queue holds until a slot frees (the worker reports them as executing). */
  heldStartedJobIds(): string[] {
    return [];
  }
}

/**
 * A worker fed by more than one queue: its Bull queue (jobs placed by a scheduler in another process)
 * and the in-process lane (placed by the scheduler of its own process). Each lane runs up to the
 * worker's slots; the scheduler's ledger, which books every placement, keeps the sum within them.
 */
export class LanedWorkerQueue extends WorkerQueue {
  constructor(private readonly lanes: readonly WorkerQueue[]) {
    super();
  }

  async start(concurrency: number, run: (data: DispatchedJobData) => Promise<void>): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.start(concurrency, run)));
  }

  async pause(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.pause()));
  }

  override async discard(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.discard()));
  }

  override async letGo(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.letGo()));
  }

  override heldStartedJobIds(): string[] {
    return this.lanes.flatMap((lane) => lane.heldStartedJobIds());
  }
}
