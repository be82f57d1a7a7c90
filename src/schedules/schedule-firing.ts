import { Injectable, Logger } from '@nestjs/common';
import { JobEventBus, type ScheduleEvent } from '../events/job-event-bus.js';
import { Metrics } from '../health/metrics.js';
import { isTerminal } from '../jobs/domain/job-state.js';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { Moved } from '../jobs/transition-sql.js';
import { CronClock } from './cron-clock.js';
import { catchUpKeeps, isMissed, planTicks, type SkipReason } from './domain/tick-plan.js';
import { ScheduleRepository } from './schedule.repository.js';
import { ScheduleTemplate } from './schedule-template.js';

/** Most due ticks handled in one transaction: a long outage of a fast schedule is worked off in slices. */
const SLICE = 1000;

export interface HandledTicks {
  fired: number;
  skipped: number;
  /** The schedule's next tick after handling (null: none left, or nothing was due). */
  nextFireAt: Date | null;
}

/**
 * Handles the due ticks of one schedule (DESIGN §11), for the elected leader: in one transaction it
 * locks the schedule, decides which due ticks fire (paused, catch_up: planTicks), applies the overlap
 * policy, inserts each tick's job with its `scheduled_for` (`ON CONFLICT DO NOTHING` on the unique
 * (schedule_id, scheduled_for): a tick a previous leader already fired creates nothing), and moves the
 * cursor, counters and last_* fields. Events are published after the commit.
 */
@Injectable()
export class ScheduleFiring {
  private readonly logger = new Logger(ScheduleFiring.name);

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly template: ScheduleTemplate,
    private readonly jobs: JobsService,
    private readonly lifecycle: JobLifecycleService,
    private readonly bus: JobEventBus,
    private readonly metrics: Metrics,
  ) {}

  /** Ids of schedules with a tick due now, earliest first. */
  due(limit: number): Promise<string[]> {
    return this.schedules.due(new Date(), limit);
  }

  /** The earliest next tick of any schedule: when the firing timer should wake. */
  earliestNextFire(): Promise<Date | null> {
    return this.schedules.earliestNextFire();
  }

  async handleDue(id: string): Promise<HandledTicks> {
    const moved: Moved[] = [];
    const events: ScheduleEvent[] = [];
    const lateness: number[] = []; // the ticks fired, for the lateness once committed
    const skips = new Map<SkipReason | 'invalid_template', number>();
    const result = await this.schedules.transaction(async (tx) => {
      const s = await this.schedules.find(id, tx, true);
      if (!s || !s.nextFireAt) return { fired: 0, skipped: 0, nextFireAt: null };
      const now = new Date();
      if (s.nextFireAt.getTime() > now.getTime()) return { fired: 0, skipped: 0, nextFireAt: s.nextFireAt };
      const clock = new CronClock(s.cron, s.timezone, { startAt: s.startAt, endAt: s.endAt });
      const { ticks, more } = clock.due(s.nextFireAt, now, SLICE);
      const anyMissed = ticks.some((t) => isMissed(t, now));
      const oldestKept = anyMissed && !s.paused ? clock.oldestKept(catchUpKeeps(s.catchUp), s.nextFireAt, now) : null;
      const plan = planTicks(ticks, { paused: s.paused, now, oldestKept });
      const skip = (tick: Date, reason: SkipReason | 'invalid_template') => {
        skips.set(reason, (skips.get(reason) ?? 0) + 1);
        events.push({ event: 'schedule_skipped', scheduleId: s.id, data: { name: s.name, scheduled_for: tick.toISOString(), reason } });
      };
      for (const { tick, reason } of plan.dropped) skip(tick, reason);
      if (plan.dropped.some((d) => d.reason === 'catch_up')) {
        this.logger.warn({ scheduleId: s.id, name: s.name, dropped: plan.dropped.length, catchUp: s.catchUp }, 'schedule: dropped ticks missed while no scheduler ran');
      }
      let { lastJobId, lastFireAt } = s;
      let fired = 0;
      for (const tick of plan.fire) {
        if (lastJobId && s.overlapPolicy !== 'allow') {
          const previous = await this.jobs.statusOf(lastJobId, tx);
          if (previous && !isTerminal(previous)) {
            if (s.overlapPolicy === 'skip') {
              skip(tick, 'overlap');
              continue;
            }
            moved.push(await this.lifecycle.supersede(lastJobId, s, tick, tx));
          }
        }
        let draft;
        try {
          draft = this.template.draft(s.job, s.id, tick);
        } catch (error) {
          // Valid when stored; a later change of configuration (a limit, a job type) made it invalid.
          this.logger.error({ err: error, scheduleId: s.id, name: s.name }, 'schedule: its job template is no longer valid; tick skipped');
          skip(tick, 'invalid_template');
          continue;
        }
        const inserted = await this.jobs.insertScheduled(draft, tx);
        const job = inserted.jobs[0];
        if (!job) continue; // the tick already has its job: fired before a leader change
        moved.push(inserted);
        fired++;
        lastJobId = job.id;
        lastFireAt = tick;
        lateness.push(tick.getTime());
        events.push({ event: 'schedule_fired', scheduleId: s.id, data: { name: s.name, job_id: job.id, scheduled_for: tick.toISOString() } });
      }
      const last = ticks[ticks.length - 1];
      const nextFireAt = more && last ? clock.next(last) : clock.next(now);
      const skipped = [...skips.values()].reduce((a, b) => a + b, 0);
      await this.schedules.recordFires(s.id, { nextFireAt, fired, skipped, lastFireAt, lastJobId }, tx);
      return { fired, skipped, nextFireAt };
    });
    for (const m of moved) this.lifecycle.publish(m);
    if (result.fired > 0) this.metrics.scheduleFires.inc({ kind: 'tick' }, result.fired);
    for (const [reason, n] of skips) this.metrics.scheduleSkips.inc({ reason }, n);
    const committedAt = Date.now();
    for (const tick of lateness) this.metrics.scheduleFireLateness.observe((committedAt - tick) / 1000);
    for (const update of events) {
      this.bus.signal({ kind: 'schedule_update', update }).catch((error: unknown) => {
        this.logger.warn({ err: error, scheduleId: update.scheduleId }, 'could not publish a schedule update');
      });
    }
    return result;
  }
}
