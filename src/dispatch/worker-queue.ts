import type { DispatchedJobData } from './job-dispatcher.js';

/** The consuming end of a worker's queue: Bull, or the in-process queue (DESIGN §1, §9). */
export abstract class WorkerQueue {
  /** Starts calling `run` for dispatched jobs, at most `concurrency` at a time. */
  abstract start(concurrency: number, run: (data: DispatchedJobData) => Promise<void>): Promise<void>;
  /** Stops taking new jobs (running ones go on). */
  abstract pause(): Promise<void>;
}
