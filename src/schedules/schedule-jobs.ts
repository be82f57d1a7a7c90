/** What schedules do with jobs and the bus: a tick's jobs in the schedule's transaction, then their events and the schedule's. */
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import { JobEventBus, type ScheduleEvent } from '../events/job-event-bus.js';
import { isTerminal, JOB_STATUSES } from '../jobs/domain/job-state.js';
import { JobCancellationService } from '../jobs/job-cancellation.service.js';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { NewJob } from '../jobs/new-job.js';
import { mergeMoved, NOTHING_MOVED, type Moved } from '../jobs/transition-sql.js';
import { Metrics } from '../metrics/metrics.js';

/**
 * The unfinished statuses as SQL literals, written into the statement rather than passed as a
 * parameter: the statement is prepared, and only a literal list lets PostgreSQL see, in the generic
 * plan too, that it implies the predicate of the partial index `jobs_schedule_unfinished_idx` (whose
 * latest migration, schedule-runs-index, has the same predicate as RUNS).
 */
const UNFINISHED = JOB_STATUSES.filter((s) => !isTerminal(s))
  .map((s) => `'${s}'`)
  .join(', ');

/** A job that is a run of its schedule: unfinished, or cancelled with its handler still stopping (it holds its resources). */
const RUNS = `status IN (${UNFINISHED}) OR (status = 'cancelled' AND allocated)`;

/**
 * An unfinished job of a schedule: the tick it was made for (null for a triggered one). `stopping`: it is
 * cancelled, but its handler may still run (its resources stay booked until the handler stops, 5 s at
 * most): a run of the schedule all the same, and nothing to cancel.
 */
export interface UnfinishedJob {
  id: string;
  scheduledFor: Date | null;
  stopping: boolean;
}

@Injectable()
export class ScheduleJobs {
  private readonly logger = new Logger(ScheduleJobs.name);

  constructor(
    private readonly jobs: JobsService,
    private readonly lifecycle: JobLifecycleService,
    private readonly cancellations: JobCancellationService,
    private readonly bus: JobEventBus,
    private readonly metrics: Metrics,
    private readonly sql: Sql,
  ) {}

  /** Inserts ticks' jobs in the caller's transaction; a tick that already has its job gets none. */
  insert(drafts: readonly NewJob[], tx: EntityManager): Promise<Moved> {
    return this.jobs.insertScheduled(drafts, tx);
  }

  /**
   * The unfinished jobs of each schedule (in the caller's transaction), in id order: whatever made them,
   * a tick or a trigger, with the cancelled ones whose handlers still run. One statement for all the schedules of a firing transaction
   * (`jobs_schedule_unfinished_idx`); a schedule with none is absent.
   */
  async unfinishedOf(scheduleIds: readonly string[], tx: EntityManager): Promise<Map<string, UnfinishedJob[]>> {
    const unfinished = new Map<string, UnfinishedJob[]>();
    if (scheduleIds.length === 0) return unfinished;
    const rows: Array<{ schedule_id: string; id: string; scheduled_for: Date | null; stopping: boolean }> = await this.sql.query(
      `SELECT schedule_id, id, scheduled_for, status = 'cancelled' AS stopping FROM jobs
       WHERE schedule_id = ANY($1::uuid[]) AND (${RUNS}) ORDER BY id`,
      [scheduleIds],
      tx,
    );
    for (const r of rows) {
      unfinished.set(r.schedule_id, [...(unfinished.get(r.schedule_id) ?? []), { id: r.id, scheduledFor: r.scheduled_for, stopping: r.stopping }]);
    }
    return unfinished;
  }

  /**
   * Cancels a schedule's unfinished jobs that a newer tick supersedes (overlap_policy cancel_previous),
   * one guarded cancel each, in the given order. A job already cancelled as the downstream of another
   * one, or finished meanwhile, moves no more.
   */
  async supersede(ids: readonly string[], schedule: { id: string; name: string }, tick: Date, tx: EntityManager): Promise<Moved> {
    let moved: Moved = NOTHING_MOVED;
    for (const id of ids) moved = mergeMoved(moved, await this.cancellations.supersede(id, schedule, tick, tx));
    return moved;
  }

  /** After the commit: publishes the jobs' events and counts `fires` jobs created by `kind`. */
  committed(moved: readonly Moved[], kind: 'tick' | 'trigger', fires: number): void {
    for (const m of moved) this.lifecycle.publish(m);
    if (fires > 0) this.metrics.scheduleFires.inc({ kind }, fires);
  }

  /**
   * Tells every process of a schedule's change (the leader re-arms its timer, the gateway relays it).
   * Best effort: a lost note costs a delay, as the leader sees every change at its next sweep.
   */
  announce(update: ScheduleEvent): void {
    this.bus.signal({ kind: 'schedule_update', update }).catch((error: unknown) => {
      this.logger.warn({ err: error, scheduleId: update.scheduleId, event: update.event }, 'could not publish a schedule update; the leader sees the change at its next sweep');
    });
  }
}
