import { Injectable } from '@nestjs/common';
import { DUE_AT, heldParams, NOT_HELD, toReadyJob, type HeldBack, type ReadyJob } from '../database/job-order.js';
import { FENCE, FENCED } from '../database/leadership-fence.js';
import { Sql } from '../database/sql.js';
import { allocatedById, statusAmong } from '../database/status-by-id.js';
import type { Reason } from './domain/placement.js';

/** The status test of the statements below that find their jobs by id: left to the primary key (status-by-id.ts). */
const READY_BY_ID = statusAmong(['ready']);
const PLACED_BY_ID = `${statusAmong(['ready'], 'status')} AND ${allocatedById('allocated')}`;

export interface Placement {
  id: string;
  workerId: string;
}

export type { ReadyJob };

/**
 * The most cpu and the most memory any accepting worker has (each its own maximum), or null when no
 * worker accepts jobs. A ready job beyond either fits no worker even empty: the ready reads leave it
 * out (it would fill the window for good and hide the jobs behind it) and its reason is written in
 * bulk (PlacementRepository.setNeverFitReasons). Null: nothing is left out, as nothing fits anywhere now.
 */
export type SizeBound = { cpuUnits: number; memoryMb: number } | null;

/**
 * The ready reads' test of a job's size against `bound` (parameters `$cpu`, `$mem`), or nothing.
 * A filter on the rows the ready indexes return, not a condition of any index: the read keeps its plan.
 */
const fitsBound = (bound: SizeBound, cpu: string, mem: string) => (bound ? ` AND cpu_units <= ${cpu}::int AND memory_mb <= ${mem}::int` : '');
const boundParams = (bound: SizeBound) => (bound ? [bound.cpuUnits, bound.memoryMb] : []);
const NOTHING_HELD: HeldBack = { types: [], pairs: [] };
/** How far into each priority's head starvingHeads looks past held jobs. */
const STARVING_SCAN = 500;

/** A job holding resources on a worker: placed (ready), running, or cancelled with its handler not stopped yet. */
export interface Allocation {
  id: string;
  workerId: string;
  status: 'ready' | 'running' | 'cancelled';
  cpuUnits: number;
  memoryMb: number;
}

/**
 * Where work is (DESIGN §4), in SQL: the ready queue the scheduler places from, the placements on
 * workers (booking, taking back, handing over again), the jobs holding resources (the allocation
 * ledger's source), and the waiting reasons of jobs left without room. The fenced statements take
 * the leadership epoch and say whether it was still current. No decisions.
 */
@Injectable()
export class PlacementRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Ready jobs not yet placed, critical first, then the one due earliest (its run_at, or its submit
   * when that came later: DESIGN §10), then by id (jobs_ready_priority_due_idx); none larger than `bound`.
   */
  async readyQueue(limit: number, bound: SizeBound = null): Promise<ReadyJob[]> {
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `SELECT id, type, concurrency_key, priority, cpu_units, memory_mb, queued_at, created_at, waiting_reason->>'code' AS reason_code,
              waiting_reason->>'message' AS reason_message
       FROM jobs WHERE status = 'ready' AND NOT allocated${fitsBound(bound, '$2', '$3')} ORDER BY priority DESC, ${DUE_AT}, id LIMIT $1`,
      [limit, ...boundParams(bound)]
    );
    return rows.map(toReadyJob);
  }

  /**
   * The first `perPriority` ready, unplaced jobs of each priority (by due time: the range heads of
   * jobs_ready_priority_due_idx, a few index reads), kept when they have waited since before `since`.
   * A window read in priority order leaves lower priorities out for as long as a backlog of higher
   * ones fills it; these are the jobs the starvation guard must still see (DESIGN §4). None larger
   * than `bound`: a job no worker can hold would take a head's place and hide one that starves.
   */
  async starvingHeads(perPriority: number, since: Date, bound: SizeBound = null, held: HeldBack = NOTHING_HELD): Promise<ReadyJob[]> {
    // Jobs held back as a whole (a paused type, one at its limit) are passed over: a pass drops them,
    // and five of them at a priority's head would hide the jobs behind them that starve. Among the first
    // STARVING_SCAN of each priority only, so that a held backlog of a million costs a bounded read.
    const holding = held.types.length > 0 || held.pairs.length > 0;
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `SELECT h.* FROM unnest(enum_range(NULL::job_priority)) AS p(priority) CROSS JOIN LATERAL (
         SELECT c.* FROM (
           SELECT id, type, concurrency_key, priority, cpu_units, memory_mb, queued_at, created_at, run_at, waiting_reason->>'code' AS reason_code,
                  waiting_reason->>'message' AS reason_message
           FROM jobs WHERE status = 'ready' AND NOT allocated AND priority = p.priority${fitsBound(bound, '$7', '$8')}
           ORDER BY priority DESC, ${DUE_AT}, id LIMIT $3
         ) c
         WHERE ${NOT_HELD('c.', '$4', '$5', '$6')}
         ORDER BY GREATEST(c.created_at, c.run_at), c.id LIMIT $1
       ) h
       WHERE coalesce(h.queued_at, h.created_at) < $2
       ORDER BY h.priority DESC, coalesce(h.queued_at, h.created_at), h.id`,
      [perPriority, since, holding ? STARVING_SCAN : perPriority, ...heldParams(held), ...boundParams(bound)],
    );
    return rows.map(toReadyJob);
  }

  /**
   * Ready, unplaced jobs behind a full window (not in `excluded`), in the ready queue's order, at most
   * `limit` of them among the first `scan` of the queue: each either fits within `room` (the most cpu
   * and memory any worker with a free slot has left: it could start now), or has no waiting reason yet
   * and has waited since before `unexplainedSince`. A window read in priority order would leave the
   * first kind waiting behind larger jobs that do not fit (DESIGN §4: a smaller job may start
   * meanwhile), and the second without a reason (every job that waits says why). The scan counts no
   * job larger than `bound` (no worker could hold it): thousands of them would fill it for good.
   */
  async behindWindow(opts: {
    excluded: readonly string[];
    room: { cpuUnits: number; memoryMb: number };
    unexplainedSince: Date;
    limit: number;
    scan: number;
    bound?: SizeBound;
    /** Passed over, as the pass would drop them (starvingHeads). */
    held?: HeldBack;
  }): Promise<ReadyJob[]> {
    const bound = opts.bound ?? null;
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `SELECT q.* FROM (
         SELECT id, type, concurrency_key, priority, cpu_units, memory_mb, queued_at, created_at, waiting_reason->>'code' AS reason_code,
                waiting_reason->>'message' AS reason_message
         FROM jobs WHERE status = 'ready' AND NOT allocated${fitsBound(bound, '$10', '$11')} ORDER BY priority DESC, ${DUE_AT}, id LIMIT $1
       ) q
       WHERE q.id <> ALL($2::uuid[]) AND ${NOT_HELD('q.', '$7', '$8', '$9')}
         AND ((q.cpu_units <= $3 AND q.memory_mb <= $4) OR (q.reason_code IS NULL AND coalesce(q.queued_at, q.created_at) < $5))
       LIMIT $6`,
      [opts.scan, opts.excluded, opts.room.cpuUnits, opts.room.memoryMb, opts.unexplainedSince, opts.limit, ...heldParams(opts.held ?? NOTHING_HELD), ...boundParams(bound)],
    );
    return rows.map(toReadyJob);
  }

  /**
   * Books placed jobs on their workers (ready, not yet allocated). No event: the job stays ready.
   * Fenced by the leadership `epoch` (null: unfenced); `leading` is false when it was not the current one.
   * Only on a worker that is still active, as placeAndStart: a pass planned on the leader's list of
   * workers as last read, and a worker declared lost meanwhile would hold the job until its placement
   * went stale (seconds), with its slot, its concurrency key and its rate-limit booking.
   */
  async place(placements: readonly Placement[], epoch: number | null): Promise<{ leading: boolean; placed: Array<{ id: string; workerId: string; attempts: number }> }> {
    if (placements.length === 0) return { leading: true, placed: [] };
    const rows: Array<{ id: string | null; worker_id: string; attempts: number; leading: boolean }> = await this.sql.query(
      `WITH ${FENCE('$3')}, placed AS (
         UPDATE jobs j SET allocated = true, worker_id = p.worker_id, placed_at = now(), waiting_reason = NULL
         FROM unnest($1::uuid[], $2::varchar[]) AS p(id, worker_id)
         WHERE j.id = p.id AND ${READY_BY_ID} AND NOT j.allocated AND ${FENCED('$3')}
           AND EXISTS (SELECT 1 FROM workers w WHERE w.id = p.worker_id AND w.status = 'active')
         RETURNING j.id, j.worker_id, j.attempts
       ) SELECT placed.*, ${FENCED('$3')} AS leading FROM (SELECT 1) AS one LEFT JOIN placed ON true`,
      [placements.map((p) => p.id), placements.map((p) => p.workerId), epoch]
    );
    const placed = rows.filter((r) => r.id !== null).map((r) => ({ id: r.id!, workerId: r.worker_id, attempts: r.attempts }));
    return { leading: rows[0]?.leading ?? false, placed };
  }

  /**
   * Takes placed-but-not-started jobs back from a worker (lost, stopping), so they are placed again.
   * Fenced like `place` when the scheduler does it; a stopping worker giving back its own passes null.
   */
  async unplace(ids: readonly string[], epoch: number | null): Promise<{ leading: boolean; taken: string[] }> {
    if (ids.length === 0) return { leading: true, taken: [] };
    const rows: Array<{ id: string | null; leading: boolean }> = await this.sql.query(
      `WITH ${FENCE('$2')}, taken AS (
         UPDATE jobs SET allocated = false, placed_at = NULL, worker_id = NULL
         WHERE id = ANY($1::uuid[]) AND ${PLACED_BY_ID} AND ${FENCED('$2')} RETURNING id
       ) SELECT taken.id, ${FENCED('$2')} AS leading FROM (SELECT 1) AS one LEFT JOIN taken ON true`,
      [ids, epoch]
    );
    return { leading: rows[0]?.leading ?? false, taken: rows.filter((r) => r.id !== null).map((r) => r.id!) };
  }

  /**
   * Takes back every job placed on a worker id and not started, for a process registering under it before
   * it takes its first hand-over: those placed for a process that died under that id were placed for the
   * capacity it had, and the process registering now may have less room. Any placed on the new
   * registration meanwhile go too (`placed_at` cannot tell them apart: a stale hand-over rewrites it).
   */
  async unplaceAllOn(workerId: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.sql.query(
      `UPDATE jobs j SET allocated = false, placed_at = NULL, worker_id = NULL
       WHERE j.allocated AND j.worker_id = $1 AND ${statusAmong(['ready'])}
       RETURNING j.id`,
      [workerId]
    );
    return rows.map((r) => r.id);
  }

  /** Whether `epoch` is the current leadership epoch. */
  async isCurrentEpoch(epoch: number): Promise<boolean> {
    const rows: Array<{ current: boolean }> = await this.sql.query(`SELECT epoch = $1::bigint AS current FROM scheduler_leadership WHERE id = 1`, [epoch]);
    return rows[0]?.current ?? false;
  }

  /** Jobs holding resources on the given workers. */
  async allocatedOn(workerIds: string[]): Promise<Allocation[]> {
    if (workerIds.length === 0) return [];
    const rows: Array<{ id: string; worker_id: string; status: Allocation['status']; cpu_units: number; memory_mb: number }> = await this.sql.query(
      `SELECT id, worker_id, status, cpu_units, memory_mb FROM jobs WHERE allocated AND worker_id = ANY($1::varchar[]) ORDER BY created_at, id`,
      [workerIds]
    );
    return rows.map((r) => ({ id: r.id, workerId: r.worker_id, status: r.status, cpuUnits: r.cpu_units, memoryMb: r.memory_mb }));
  }

  /** Jobs placed on a worker longer than `graceMs` ago and still not started. */
  async stalePlacements(graceMs: number): Promise<Array<{ id: string; workerId: string; attempts: number; type: string }>> {
    const rows: Array<{ id: string; worker_id: string; attempts: number; type: string }> = await this.sql.query(
      `SELECT id, worker_id, attempts, type FROM jobs
       WHERE status = 'ready' AND allocated AND placed_at < now() - make_interval(secs => $1::float8 / 1000)
       ORDER BY placed_at LIMIT 1000`,
      [graceMs]
    );
    return rows.map((r) => ({ id: r.id, workerId: r.worker_id, attempts: r.attempts, type: r.type }));
  }

  /** Marks placements as handed over again (after a re-dispatch), so the grace period restarts. */
  async touchPlacements(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.sql.query(`UPDATE jobs SET placed_at = now() WHERE id = ANY($1::uuid[]) AND ${PLACED_BY_ID}`, [ids]);
  }

  /** Every job holding resources, with what it holds: the allocation ledger, rebuilt from the jobs table. */
  /** Every booking in the table; `attempt`: the run it is for (a placed job's next one, a running job's current one). */
  async allocatedJobs(): Promise<Array<{ id: string; workerId: string; cpuUnits: number; memoryMb: number; type: string; concurrencyKey: string | null; attempt: number }>> {
    const rows: Array<{ id: string; worker_id: string; cpu_units: number; memory_mb: number; type: string; concurrency_key: string | null; attempt: number }> = await this.sql.query(
      `SELECT id, worker_id, cpu_units, memory_mb, type, concurrency_key, attempts + (status = 'ready')::int AS attempt FROM jobs WHERE allocated`,
    );
    return rows.map((r) => ({ id: r.id, workerId: r.worker_id, cpuUnits: r.cpu_units, memoryMb: r.memory_mb, type: r.type, concurrencyKey: r.concurrency_key, attempt: r.attempt }));
  }

  /**
   * Releases cancelled jobs whose handlers did not stop within the grace period; skips those another
   * transaction holds (the next sweep looks again), as the leader's sweeps never wait on a job.
   */
  async releaseStaleCancelled(graceMs: number): Promise<number> {
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH free AS (
         SELECT id FROM jobs
         WHERE allocated AND status = 'cancelled' AND completed_at < now() - make_interval(secs => $1::float8 / 1000)
         FOR UPDATE SKIP LOCKED
       ), released AS (
         UPDATE jobs SET allocated = false
         WHERE id = ANY(ARRAY(SELECT id FROM free)) AND allocated AND status = 'cancelled'
         RETURNING id
       ) SELECT id FROM released`,
      [graceMs]
    );
    return rows.length;
  }

  /**
   * The distinct sizes (cpu units, memory) of the ready, unplaced jobs larger than `bound` in cpu or
   * memory: those no accepting worker can hold even empty. At most 1,000 sizes (the API bounds what a
   * job may ask for; past that many, the next refresh finds the rest).
   */
  async neverFitSizes(bound: NonNullable<SizeBound>): Promise<Array<{ cpuUnits: number; memoryMb: number }>> {
    const rows: Array<{ cpu_units: number; memory_mb: number }> = await this.sql.query(
      `SELECT DISTINCT cpu_units, memory_mb FROM jobs
       WHERE status = 'ready' AND NOT allocated AND (cpu_units > $1::int OR memory_mb > $2::int) LIMIT 1000`,
      [bound.cpuUnits, bound.memoryMb],
    );
    return rows.map((r) => ({ cpuUnits: r.cpu_units, memoryMb: r.memory_mb }));
  }

  /**
   * Writes one reason to every ready, unplaced job of each size given, where it differs (no event: the
   * job's state does not change): the reason of the jobs no worker can hold (neverFitSizes).
   */
  async setNeverFitReasons(items: ReadonlyArray<{ cpuUnits: number; memoryMb: number; reason: Reason }>): Promise<void> {
    if (items.length === 0) return;
    await this.sql.query(
      `UPDATE jobs j SET waiting_reason = r.reason
       FROM unnest($1::int[], $2::int[], $3::jsonb[]) AS r(cpu_units, memory_mb, reason)
       WHERE j.status = 'ready' AND NOT j.allocated AND j.cpu_units = r.cpu_units AND j.memory_mb = r.memory_mb
         AND j.waiting_reason IS DISTINCT FROM r.reason`,
      [items.map((i) => i.cpuUnits), items.map((i) => i.memoryMb), items.map((i) => JSON.stringify(i.reason))],
    );
  }

  /**
   * Writes waiting reasons (no event: the job's state does not change). A reason is a note, rewritten at
   * the next refresh: rows another transaction holds (a start, a cancel, a completion's group commit
   * moving them on) are skipped, not waited for, so this statement never waits on a lock and so never
   * deadlocks. Locking the rows as the join met them, it deadlocked now and then with a transaction
   * locking some of the same rows in another order, and failed the whole placement pass it was part of.
   */
  async setWaitingReasons(items: ReadonlyArray<{ id: string; reason: Reason }>): Promise<void> {
    if (items.length === 0) return;
    await this.sql.query(
      `WITH free AS (
         SELECT j.id FROM jobs j WHERE j.id = ANY($1::uuid[]) AND ${READY_BY_ID} AND NOT j.allocated FOR UPDATE SKIP LOCKED
       )
       UPDATE jobs j SET waiting_reason = w.reason
       FROM unnest($1::uuid[], $2::jsonb[]) AS w(id, reason), free
       WHERE j.id = w.id AND j.id = free.id`,
      [items.map((i) => i.id), items.map((i) => JSON.stringify(i.reason))]
    );
  }
}
