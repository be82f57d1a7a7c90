/**
 * What the worker's own GET /health reads of its lease (executor/domain/worker-lease.ts): health/ may
 * not import the executor, so the executor module provides its lease under this token as well.
 */
export const WORKER_LEASE_VIEW = Symbol('WORKER_LEASE_VIEW');

export interface WorkerLeaseView {
  readonly leaseMs: number;
  /** True when no accepted renewal was sent within the last `leaseMs`. */
  isLapsed(now: number): boolean;
  /** How long since the last accepted renewal was sent (ms). */
  silentFor(now: number): number;
}
