import { Injectable } from '@nestjs/common';
import type { Reason } from './domain/placement.js';
import { PlacementRepository, type Allocation, type Placement, type ReadyJob, type SizeBound } from './placement.repository.js';
import type { HeldBack } from '../database/job-order.js';

/** A fenced placement found that another process leads now: the caller must step down. */
export class LeadershipLostError extends Error {
  constructor(readonly epoch: number | null) {
    super(`leadership epoch ${epoch} is no longer current: another scheduler leads`);
    this.name = 'LeadershipLostError';
  }
}

/** Where work is (DESIGN §4): what the scheduler places from and books, and what each worker holds. */
@Injectable()
export class PlacementsService {
  constructor(private readonly placements: PlacementRepository) {}

  /** The head of the ready queue, none larger than `bound` (PlacementRepository.readyQueue). */
  readyQueue(limit: number, bound: SizeBound = null): Promise<ReadyJob[]> {
    return this.placements.readyQueue(limit, bound);
  }

  /** The oldest ready jobs of each priority that waited since before `since` (PlacementRepository.starvingHeads). */
  starvingHeads(perPriority: number, since: Date, bound: SizeBound = null, held?: HeldBack): Promise<ReadyJob[]> {
    return this.placements.starvingHeads(perPriority, since, bound, held);
  }

  /** Ready jobs behind a full window that could start now or have no reason yet (PlacementRepository.behindWindow). */
  behindWindow(opts: Parameters<PlacementRepository['behindWindow']>[0]): Promise<ReadyJob[]> {
    return this.placements.behindWindow(opts);
  }

  /** Books placements under leadership `epoch` (null: unfenced). Throws LeadershipLostError when it is not current. */
  async place(placements: readonly Placement[], epoch: number | null) {
    const { leading, placed } = await this.placements.place(placements, epoch);
    if (!leading) throw new LeadershipLostError(epoch);
    return placed;
  }

  /** See PlacementRepository.unplaceAllOn. */
  unplaceAllOn(workerId: string): Promise<string[]> {
    return this.placements.unplaceAllOn(workerId);
  }

  /** Takes placements back, under leadership `epoch` when the scheduler does it (null: the worker itself). */
  async unplace(ids: readonly string[], epoch: number | null): Promise<string[]> {
    const { leading, taken } = await this.placements.unplace(ids, epoch);
    if (!leading) throw new LeadershipLostError(epoch);
    return taken;
  }

  isCurrentEpoch(epoch: number): Promise<boolean> {
    return this.placements.isCurrentEpoch(epoch);
  }

  /** Every job holding resources: what the allocation ledger is rebuilt from. */
  allocatedJobs() {
    return this.placements.allocatedJobs();
  }

  allocatedOn(workerIds: string[]): Promise<Allocation[]> {
    return this.placements.allocatedOn(workerIds);
  }

  stalePlacements(graceMs: number) {
    return this.placements.stalePlacements(graceMs);
  }

  touchPlacements(ids: string[]) {
    return this.placements.touchPlacements(ids);
  }

  setWaitingReasons(items: ReadonlyArray<{ id: string; reason: Reason }>) {
    return this.placements.setWaitingReasons(items);
  }

  /** The sizes of the ready jobs no accepting worker can hold even empty (PlacementRepository.neverFitSizes). */
  neverFitSizes(bound: NonNullable<SizeBound>) {
    return this.placements.neverFitSizes(bound);
  }

  setNeverFitReasons(items: Parameters<PlacementRepository['setNeverFitReasons']>[0]) {
    return this.placements.setNeverFitReasons(items);
  }

  releaseStaleCancelled(graceMs: number) {
    return this.placements.releaseStaleCancelled(graceMs);
  }
}
