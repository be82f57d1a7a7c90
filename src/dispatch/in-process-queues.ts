import type { StartedJob } from '../jobs/job-row.js';
import { JobDispatcher, type Dispatch, type DispatchedJobData } from './job-dispatcher.js';
import { WorkerQueue } from './worker-queue.js';

/**
 * In-process queues by worker id, shared by the dispatcher and the consumer: every queue in embedded
 * mode; with Redis, the lane from a leading scheduler to the worker of its own process.
 */
export class InProcessQueues {
  private readonly queues = new Map<string, InProcessWorkerQueue>();

  /** True when a consumer in this process takes this worker's jobs. */
  consumes(workerId: string): boolean {
    return this.queues.get(workerId)?.started ?? false;
  }

  /** Workers of this process: their queues are read by a consumer here, started or about to be. */
  private readonly own = new Set<string>();

  queueOf(workerId: string): InProcessWorkerQueue {
    let queue = this.queues.get(workerId);
    if (!queue) {
      queue = new InProcessWorkerQueue();
      this.queues.set(workerId, queue);
    }
    return queue;
  }

  /** The queue the worker of this process reads (its consumer starts it once the worker registered). */
  consumerQueue(workerId: string): InProcessWorkerQueue {
    this.own.add(workerId);
    return this.queueOf(workerId);
  }

  /**
   * Drops what waits for a worker that was declared gone. A worker of this process that is still
   * consuming (it froze past WORKER_LOST_SECONDS and came back, registering again) keeps its queue:
   * deleting it would leave the consumer on a queue nobody feeds and every later hand-over in a new
   * one nobody reads, so the worker would never run a job again. Its waiting hand-overs go (the
   * scheduler took those placements back); what it runs goes on. The same holds before its consumer
   * started: a worker still waiting for its WORKER_ID at boot, whose stale row the sweep declares lost.
   */
  forget(workerId: string): void {
    const queue = this.queues.get(workerId);
    if (queue?.started || this.own.has(workerId)) queue?.dropWaiting();
    else this.queues.delete(workerId);
  }
}

/** JobDispatcher for one process: a repeat of a queued or running `<job id>:<attempt>` is ignored. */
export class InProcessJobDispatcher extends JobDispatcher {
  constructor(private readonly queues: InProcessQueues) {
    super();
  }

  /** An in-process queue loses nothing, so a hand-over `again` is a plain (deduplicated) add. */
  async dispatch(items: readonly Dispatch[]): Promise<void> {
    for (const { workerId, jobId, attempt } of items) this.queues.queueOf(workerId).add({ jobId, attempt });
  }

  runsHere(workerId: string): boolean {
    return this.queues.consumes(workerId);
  }

  handOver(workerId: string, started: readonly StartedJob[]): void {
    this.queues.queueOf(workerId).handOver(started);
  }

  async forget(workerId: string): Promise<void> {
    this.queues.forget(workerId);
  }

  /** Its queues hold nothing open. */
  closeQueuesExcept(): void {}

  /** Its queues live and die with this process. */
  async queuesWereReset(): Promise<boolean> {
    return false;
  }
}

/**
 * A FIFO with a concurrency limit, fed by InProcessJobDispatcher (and by the scheduler of this
 * process through `handOver`). Jobs handed over already started are run even while the queue is
 * paused: they are `running` in the table, and a stopping worker waits for (or releases) what runs.
 */
export class InProcessWorkerQueue extends WorkerQueue {
  private readonly waiting: DispatchedJobData[] = [];
  private readonly startedWaiting: DispatchedJobData[] = [];
  private readonly known = new Set<string>();
  private run?: (data: DispatchedJobData) => Promise<void>;
  private concurrency = 0;
  private active = 0;
  private paused = false;

  get started(): boolean {
    return this.run !== undefined;
  }

  add(data: DispatchedJobData): void {
    const key = `${data.jobId}:${data.attempt}`;
    if (this.known.has(key)) return;
    this.known.add(key);
    this.waiting.push(data);
    this.pump();
  }

  handOver(started: readonly StartedJob[]): void {
    for (const s of started) this.startedWaiting.push({ jobId: s.job.id, attempt: s.job.attempts, started: s });
    this.pump();
  }

  async start(concurrency: number, run: (data: DispatchedJobData) => Promise<void>): Promise<void> {
    this.concurrency = concurrency;
    this.run = run;
    this.paused = false;
    this.pump();
  }

  async pause(): Promise<void> {
    this.paused = true;
  }

  /** Forgets the hand-overs not yet run (placements taken back); started ones and running ones stay. */
  dropWaiting(): void {
    for (const data of this.waiting.splice(0)) this.known.delete(`${data.jobId}:${data.attempt}`);
  }

  /** Handed over started, waiting for a free slot of the lane: running in the table, executed soon. */
  override heldStartedJobIds(): string[] {
    return this.startedWaiting.map((d) => d.jobId);
  }

  private pump(): void {
    while (this.run && this.active < this.concurrency) {
      const data = this.startedWaiting.shift() ?? (this.paused ? undefined : this.waiting.shift());
      if (!data) return;
      this.active += 1;
      void this.run(data)
        .catch(() => undefined)
        .finally(() => {
          this.active -= 1;
          this.known.delete(`${data.jobId}:${data.attempt}`);
          this.pump();
        });
    }
  }
}
