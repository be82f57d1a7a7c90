import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ScheduleEvent } from '../events/job-event-bus.js';
import { Metrics } from '../metrics/metrics.js';
import type { NewJob } from '../jobs/new-job.js';
import type { Moved } from '../jobs/transition-sql.js';
import { CronClock } from './cron-clock.js';
import { catchUpKeeps, isMissed, isPausedAt, pauseSpanOf, planTicks, type SkipReason } from './domain/tick-plan.js';
import type { Schedule } from './entities/schedule.entity.js';
import { ScheduleJobs, type UnfinishedJob } from './schedule-jobs.js';
import { ScheduleRepository, type FireUpdate } from './schedule.repository.js';
import { ScheduleTemplate } from './schedule-template.js';
import { databaseTime } from '../common/database-time.js';

/**
 * Most due ticks of one schedule handled in one transaction: a long outage of a fast schedule is worked
 * off in slices. No more than CronClock keeps answers for, so that schedules of one expression behind
 * by the same time share them.
 */
const SLICE = 256;
/**
 * Most due ticks handled in one transaction, all schedules together (each still takes at least one):
 * walking ticks is synchronous (60-170 µs a tick), and a catch-up of many fast schedules after a long
 * outage held the leader's event loop for seconds at a time. Later rounds go on from the cursors.
 */
const TICKS_PER_ROUND = 1000;

type Reason = SkipReason | 'invalid_template';

/** What one pass decided for one schedule, before the jobs are inserted. */
interface Pass {
  schedule: Schedule;
  /** How many due ticks it handled. */
  ticks: number;
  update: FireUpdate & { id: string };
  drafts: NewJob[];
  skips: Array<{ tick: Date; reason: Reason }>;
}

/**
 * Handles the due ticks of schedules (DESIGN §11), for the elected leader. One transaction per call,
 * whatever the number of schedules: it claims the due ones (FOR UPDATE SKIP LOCKED), decides for each which due ticks fire (paused
 * as of each tick, catch_up: planTicks) and applies its overlap policy against its unfinished jobs, inserts every new job
 * in one statement with `ON CONFLICT (schedule_id, scheduled_for) DO NOTHING` (a tick a previous leader
 * already fired creates nothing), and moves each cursor, counters and last_* fields in one statement.
 * The jobs and the counters commit together; events are published after the commit, the jobs' first.
 */
@Injectable()
export class ScheduleFiring {
  private readonly logger = new Logger(ScheduleFiring.name);

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly template: ScheduleTemplate,
    private readonly jobs: ScheduleJobs,
    private readonly metrics: Metrics,
  ) {}

  /** The earliest next tick of any schedule: when the firing timer should wake. */
  earliestNextFire(): Promise<Date | null> {
    return this.schedules.earliestNextFire();
  }

  /**
   * Claims up to `limit` schedules with a tick due now (ones another transaction holds are skipped) and
   * handles their due ticks; returns how many it claimed (fewer than `limit`: none is left due now) and
   * how many jobs it created. `termStart`: when the calling scheduler began to lead (on PostgreSQL's
   * clock, databaseTime); the ticks before it were missed, those of its own term are late at worst (tick-plan.ts,
   * isMissed).
   */
  async handleDue(limit: number, termStart: Date): Promise<{ claimed: number; fired: number }> {
    const moved: Moved[] = [];
    const events: ScheduleEvent[] = [];
    const fired: Array<{ tick: Date }> = [];
    const skipped = new Map<Reason, number>();
    let claimed = 0;
    await this.schedules.transaction(async (tx) => {
      const { schedules: locked, transactionStart } = await this.schedules.claimDue(databaseTime.date(), limit, tx);
      claimed = locked.length;
      // The clock of the jobs' created_at (their transaction's start): the ticks due by then are handled.
      const now = transactionStart ?? databaseTime.date();
      let budget = TICKS_PER_ROUND;
      const passes = locked
        .filter((s) => s.nextFireAt && s.nextFireAt.getTime() <= now.getTime())
        .map((s) => {
          const pass = this.plan(s, now, termStart, Math.max(1, Math.min(SLICE, budget)));
          budget -= pass.ticks;
          return pass;
        });
      // The unfinished jobs of each schedule whose policy looks at them: one statement for the batch.
      const watched = passes.filter((p) => p.schedule.overlapPolicy !== 'allow' && p.drafts.length > 0).map((p) => p.schedule.id);
      const unfinished = await this.jobs.unfinishedOf(watched, tx);
      for (const pass of passes) moved.push(...(await this.applyOverlap(pass, unfinished.get(pass.schedule.id) ?? [], tx)));
      const drafts = passes.flatMap((p) => p.drafts);
      const inserted = await this.jobs.insert(drafts, tx);
      moved.push(inserted);
      const insertedIds = new Set(inserted.jobs.map((j) => j.id));
      for (const pass of passes) {
        const s = pass.schedule;
        for (const draft of pass.drafts) {
          // Not inserted: the tick already has its job (fired before a leader change).
          if (!insertedIds.has(draft.id)) continue;
          pass.update.fired++;
          pass.update.lastJobId = draft.id;
          pass.update.lastFireAt = draft.scheduledFor!;
          fired.push({ tick: draft.scheduledFor! });
          events.push({ event: 'schedule_fired', scheduleId: s.id, data: { name: s.name, job_id: draft.id, scheduled_for: draft.scheduledFor!.toISOString() } });
        }
        for (const { tick, reason } of pass.skips) {
          pass.update.skipped++;
          skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
          events.push({ event: 'schedule_skipped', scheduleId: s.id, data: { name: s.name, scheduled_for: tick.toISOString(), reason } });
        }
      }
      await this.schedules.recordFiresMany(passes.map((p) => p.update), tx);
    });
    this.jobs.committed(moved, 'tick', fired.length);
    const committedAt = databaseTime.now();
    for (const { tick } of fired) this.metrics.scheduleFireLateness.observe((committedAt - tick.getTime()) / 1000);
    for (const [reason, n] of skipped) this.metrics.scheduleSkips.inc({ reason }, n);
    // The schedules' own events (one signal each) after the jobs' events of every firing transaction
    // that commits meanwhile: a round's job_created events do not wait behind another batch's 250 signals.
    if (events.length > 0) setImmediate(() => events.forEach((update) => this.jobs.announce(update)));
    return { claimed, fired: fired.length };
  }

  /** Up to `slice` due ticks of one schedule, the ones that fire as drafts, the others as skips, and the new cursor. */
  private plan(s: Schedule, now: Date, termStart: Date, slice: number): Pass {
    const clock = new CronClock(s.cron, s.timezone, { startAt: s.startAt, endAt: s.endAt });
    const { ticks, next } = clock.due(s.nextFireAt!, now, slice);
    // Paused as of each tick, not as of now: a leader late to a tick that fell before a pause fires it,
    // one late to a tick that fell while paused drops it, even once the schedule is resumed.
    const pause = pauseSpanOf(s);
    const anyMissed = ticks.some((t) => isMissed(t, termStart) && !isPausedAt(t, pause));
    const oldestKept = anyMissed ? clock.oldestKept(catchUpKeeps(s.catchUp), s.nextFireAt!, termStart, pause) : null;
    const plan = planTicks(ticks, { pause, oldestKept, termStart });
    const pass: Pass = {
      schedule: s,
      ticks: ticks.length,
      update: { id: s.id, nextFireAt: next, fired: 0, skipped: 0, lastFireAt: s.lastFireAt, lastJobId: s.lastJobId },
      drafts: [],
      skips: [...plan.dropped],
    };
    if (plan.dropped.some((d) => d.reason === 'catch_up')) {
      this.logger.warn({ scheduleId: s.id, name: s.name, dropped: plan.dropped.length, catchUp: s.catchUp }, 'schedule: dropped ticks missed while no scheduler ran');
    }
    for (const tick of plan.fire) {
      try {
        pass.drafts.push(this.template.draftFor(s, tick));
      } catch (error) {
        // Valid when stored; a later change of configuration (a limit, a job type) made it invalid.
        this.logger.error({ err: error, scheduleId: s.id, name: s.name }, 'schedule: its job template is no longer valid; tick skipped');
        pass.skips.push({ tick, reason: 'invalid_template' });
      }
    }
    return pass;
  }

  /**
   * The overlap policy (DESIGN §11), against the schedule's unfinished jobs (`unfinished`: their ids):
   * every one of them, not only `last_job_id`, which a trigger takes over. A triggered job ignores the
   * policy when it is created (an explicit request), but once it runs it is a previous run like any
   * other: `skip` creates nothing while it is unfinished, or cancelled with its handler still stopping
   * (nothing of the schedule runs twice at once),
   * and `cancel_previous` cancels every unfinished job of the schedule, all superseded by the new tick.
   * Of several ticks firing in one pass (a catch-up), each but the newest would overlap the next at
   * once: `skip` keeps the oldest (when no job is unfinished), `cancel_previous` the newest; the others
   * count as overlap skips.
   */
  private async applyOverlap(pass: Pass, unfinished: readonly UnfinishedJob[], tx: EntityManager): Promise<Moved[]> {
    const s = pass.schedule;
    if (s.overlapPolicy === 'allow' || pass.drafts.length === 0) return [];
    // A tick that has its job already (the cursor set back onto it by a change of timing made on a clock
    // a little behind the firing's) is neither fired again nor skipped, and its job is no previous run
    // to supersede on its own behalf: its insert would find the tick taken after the cancel.
    const taken = new Set(unfinished.map((u) => u.scheduledFor?.getTime()));
    pass.drafts = pass.drafts.filter((d) => !taken.has(d.scheduledFor!.getTime()));
    const previousRuns = unfinished.length > 0;
    const drafts = pass.drafts;
    if (drafts.length === 0) return [];
    let keep: NewJob | undefined;
    if (s.overlapPolicy === 'skip') keep = previousRuns ? undefined : drafts[0];
    else keep = drafts[drafts.length - 1];
    for (const d of drafts) if (d !== keep) pass.skips.push({ tick: d.scheduledFor!, reason: 'overlap' });
    pass.drafts = keep ? [keep] : [];
    if (s.overlapPolicy === 'cancel_previous' && previousRuns && keep) {
      return [await this.jobs.supersede(unfinished.filter((u) => !u.stopping).map((u) => u.id), s, keep.scheduledFor!, tx)];
    }
    return [];
  }
}
