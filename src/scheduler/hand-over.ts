import { Injectable } from '@nestjs/common';
import { JobDispatcher } from '../dispatch/job-dispatcher.js';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import type { StartedJob } from '../jobs/job-row.js';
import { LeadershipLostError, PlacementsService } from '../resources/placements.service.js';
import { byLane, type ReadyRow } from './domain/scheduling.js';
import { FlowControlState } from './flow-control-state.js';
import { WorkerRooms } from './worker-rooms.js';

/**
 * Owns carrying out a pass's plan: the jobs placed on a worker of this process are placed and
 * started in one statement and handed over in memory, the others booked and sent to their workers'
 * queues; each one booked in the ledger, and its start in the start log of the queue rules.
 */
@Injectable()
export class HandOver {
  constructor(
    private readonly lifecycle: JobLifecycleService,
    private readonly placements: PlacementsService,
    private readonly dispatcher: JobDispatcher,
    private readonly rooms: WorkerRooms,
    private readonly flow: FlowControlState,
  ) {}

  /** Places `plan` (jobs of `ready`) under leadership `epoch`; returns the ids of the jobs placed. */
  async carryOut(plan: ReadonlyArray<{ jobId: string; workerId: string }>, ready: readonly ReadyRow[], epoch: number | null): Promise<string[]> {
    const sizes = new Map(ready.map((j) => [j.id, j]));
    const { here, elsewhere } = byLane(plan, (workerId) => this.dispatcher.runsHere(workerId));
    const handedOver: string[] = [];
    for (const [workerId, ids] of here) {
      const started = await this.lifecycle.placeAndStart(ids, workerId, epoch);
      // What started did so under the fence, in the same statement: it runs here whatever comes next,
      // and is handed over before any other wait (until then no heartbeat lists it as executing).
      this.startedHere(workerId, started, sizes);
      for (const { job } of started) handedOver.push(job.id);
      // Fewer started than planned: taken meanwhile, the worker stopping, or the fence closed.
      if (started.length < ids.length && epoch !== null && !(await this.placements.isCurrentEpoch(epoch))) throw new LeadershipLostError(epoch);
    }
    const placed = await this.placements.place(elsewhere, epoch);
    // Fewer placed than planned: taken meanwhile, or a worker no longer active (lost, stopping): the
    // next pass reads the workers again.
    if (placed.length < elsewhere.length) this.rooms.markWorkersStale();
    for (const p of placed) {
      const job = sizes.get(p.id)!;
      this.rooms.ledger.book(p.id, { workerId: p.workerId, cpuUnits: job.cpuUnits, memoryMb: job.memoryMb, type: job.type, concurrencyKey: job.concurrencyKey, attempt: p.attempts + 1 });
    }
    this.flow.recordStarts(placed.map((p) => ({ id: p.id, type: sizes.get(p.id)!.type })), { started: false });
    if (placed.length > 0) {
      await this.dispatcher.dispatch(placed.map((p) => ({ workerId: p.workerId, jobId: p.id, attempt: p.attempts + 1 })));
    }
    return [...handedOver, ...placed.map((p) => p.id)];
  }

  /** True when the worker runs in this process: its jobs are placed and started in one statement. */
  runsHere(workerId: string): boolean {
    return this.dispatcher.runsHere(workerId);
  }

  /**
   * Jobs placed and started on a worker of this process (`ready` gives their concurrency keys): booked
   * in the ledger, their starts logged for the queue rules, handed to the worker.
   */
  startedHere(workerId: string, started: readonly StartedJob[], ready: ReadonlyMap<string, Pick<ReadyRow, 'concurrencyKey'>>): void {
    for (const { job } of started) {
      this.rooms.ledger.book(job.id, { workerId, cpuUnits: job.cpuUnits, memoryMb: job.memoryMb, type: job.type, concurrencyKey: ready.get(job.id)?.concurrencyKey ?? null, attempt: job.attempts });
    }
    this.flow.recordStarts(started.map(({ job }) => ({ id: job.id, type: job.type })), { started: true });
    this.dispatcher.handOver(workerId, started);
  }
}
