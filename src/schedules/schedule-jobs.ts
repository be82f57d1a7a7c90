/** What schedules do with jobs and the bus: a tick's jobs in the schedule's transaction, then their events and the schedule's. */
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { JobEventBus, type ScheduleEvent } from '../events/job-event-bus.js';
import type { JobStatus } from '../jobs/domain/job-state.js';
import { JobCancellationService } from '../jobs/job-cancellation.service.js';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { NewJob } from '../jobs/new-job.js';
import type { Moved } from '../jobs/transition-sql.js';
import { Metrics } from '../metrics/metrics.js';

@Injectable()
export class ScheduleJobs {
  private readonly logger = new Logger(ScheduleJobs.name);

  constructor(
    private readonly jobs: JobsService,
    private readonly lifecycle: JobLifecycleService,
    private readonly cancellations: JobCancellationService,
    private readonly bus: JobEventBus,
    private readonly metrics: Metrics,
  ) {}

  /** Inserts ticks' jobs in the caller's transaction; a tick that already has its job gets none. */
  insert(drafts: readonly NewJob[], tx: EntityManager): Promise<Moved> {
    return this.jobs.insertScheduled(drafts, tx);
  }

  /** The statuses of jobs (in the caller's transaction); a job that no longer exists is absent. */
  statusesOf(ids: readonly string[], tx: EntityManager): Promise<Map<string, JobStatus>> {
    return this.jobs.statusesOf(ids, tx);
  }

  /** Cancels a schedule's previous job that a newer tick supersedes (overlap_policy cancel_previous). */
  supersede(id: string, schedule: { id: string; name: string }, tick: Date, tx: EntityManager): Promise<Moved> {
    return this.cancellations.supersede(id, schedule, tick, tx);
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
