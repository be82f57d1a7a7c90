import { Injectable } from '@nestjs/common';
import { INVALID_CRON, INVALID_CURSOR, VALIDATION_FAILED } from '../common/domain/error-codes.js';
import { ValidationFailedError, type FieldProblem } from '../common/errors/domain-error.js';
import { UUID } from '../common/domain/uuid.js';
import { uuidv7 } from '../common/uuid-v7.js';
import { EARLIEST_RUN_AT, latestRunAt, MAX_YEARS_AHEAD, parseZonedInstant } from '../jobs/domain/run-at.js';
import type { Job } from '../jobs/entities/job.entity.js';
import { checkCron, CronClock } from './cron-clock.js';
import { NAME_RULE, SCHEDULE_NAME, type CreateScheduleDto, type UpdateScheduleDto } from './dto/schedule.dto.js';
import { ScheduleResponseDto } from './dto/schedule-response.dto.js';
import type { Schedule } from './entities/schedule.entity.js';
import { ScheduleJobs } from './schedule-jobs.js';
import { ScheduleRepository, type ScheduleFields } from './schedule.repository.js';
import { ScheduleNameTakenError, ScheduleNotFoundError, TickTakenError } from './schedule-errors.js';
import { ScheduleTemplate } from './schedule-template.js';
import { pauseTimes, triggerInstant } from './domain/tick-plan.js';
import { databaseTime } from '../common/database-time.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const badCursor = () => new ValidationFailedError([{ field: 'cursor', message: 'cursor is not a cursor returned by this API' }], INVALID_CURSOR);
const isNameTaken = (error: unknown) =>
  (error as { code?: unknown }).code === '23505' && (error as { constraint?: unknown }).constraint === 'schedules_name_key';

/** Instants a trigger tries, one millisecond apart, before it answers TICK_TAKEN. */
const TRIGGER_TRIES = 20;

/** Fields a PATCH may not set to null (start_at and end_at may: null removes the bound). */
const NOT_NULLABLE = ['name', 'cron', 'timezone', 'job', 'overlap_policy', 'catch_up', 'paused'] as const;

/**
 * Recurring schedules (DESIGN §11): create, read, change, replace, delete, trigger. Every write is
 * validated in full before anything is stored (nothing half-written), recomputes the firing cursor
 * when the timing changed, and is announced as a schedule_update (the leader re-arms its timer).
 */
@Injectable()
export class SchedulesService {
  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly template: ScheduleTemplate,
    private readonly jobs: ScheduleJobs,
  ) {}

  async create(dto: CreateScheduleDto): Promise<Schedule> {
    const fields = this.fields(dto, null, databaseTime.date());
    let schedule: Schedule;
    try {
      schedule = await this.schedules.insert(uuidv7(), fields);
    } catch (error) {
      if (isNameTaken(error)) throw new ScheduleNameTakenError(fields.name);
      throw error;
    }
    this.announce('schedule_created', schedule);
    return schedule;
  }

  /** PUT /schedules/{name}: every writable field from the body, defaults for the omitted ones. */
  async replace(name: string, dto: Omit<CreateScheduleDto, 'name'> & { name?: string }): Promise<{ schedule: Schedule; created: boolean }> {
    if (!SCHEDULE_NAME.test(name)) {
      throw new ValidationFailedError([{ field: 'name', message: `name (in the path) must be ${NAME_RULE}` }]);
    }
    if (dto.name !== undefined && dto.name !== name) {
      throw new ValidationFailedError([{ field: 'name', message: `name "${dto.name}" differs from the name in the path ("${name}"); leave it out or make them equal` }]);
    }
    // Read under FOR UPDATE and written in the same transaction, as PATCH does: a tick fired between an
    // unlocked read and the write would otherwise be handed its own tick again (the cursor kept below
    // is the one read), and its overlap rule would cancel or skip against the tick's own job.
    // A pause or resume takes effect from when it was asked for, not from when the row lock was had.
    const at = databaseTime.date();
    const result = await this.schedules.transaction(async (tx) => {
      const existing = await this.schedules.find(name, tx, true);
      const same = existing && existing.name === name ? existing : null;
      const fields = this.fields({ ...dto, name }, same, at, countFrom(same, databaseTime.date()));
      // Same timing: keep the cursor, so a replace made just as a tick falls due does not lose it.
      if (same && sameTiming(same, fields)) fields.nextFireAt = same.nextFireAt;
      return this.schedules.upsert(uuidv7(), fields, tx);
    });
    this.announce(result.created ? 'schedule_created' : 'schedule_updated', result.schedule);
    return result;
  }

  async update(key: string, dto: UpdateScheduleDto): Promise<Schedule> {
    const problems: FieldProblem[] = NOT_NULLABLE.filter((f) => (dto as Record<string, unknown>)[f] === null).map((f) => ({
      field: f,
      message: `${f} cannot be null`,
    }));
    if (problems.length > 0) throw new ValidationFailedError(problems);
    // A pause or resume takes effect from when it was asked for, not from when the row lock was had
    // (the firing may hold the row meanwhile): a tick after this instant is judged paused or not by it.
    const at = databaseTime.date();
    let schedule: Schedule;
    try {
      schedule = await this.schedules.transaction(async (tx) => {
        const current = await this.schedules.find(key, tx, true);
        if (!current) throw new ScheduleNotFoundError(key);
        const fields = this.fields({
          name: dto.name ?? current.name,
          cron: dto.cron ?? current.cron,
          timezone: dto.timezone ?? current.timezone,
          job: dto.job ?? current.job,
          overlap_policy: dto.overlap_policy ?? current.overlapPolicy,
          catch_up: dto.catch_up ?? current.catchUp,
          paused: dto.paused ?? current.paused,
          start_at: dto.start_at === undefined ? current.startAt?.toISOString() : dto.start_at,
          end_at: dto.end_at === undefined ? current.endAt?.toISOString() : dto.end_at,
        }, current, at, countFrom(current, databaseTime.date()));
        if (sameTiming(current, fields)) fields.nextFireAt = current.nextFireAt;
        return this.schedules.update(current.id, fields, tx);
      });
    } catch (error) {
      if (isNameTaken(error)) throw new ScheduleNameTakenError(dto.name ?? key);
      throw error;
    }
    this.announce('schedule_updated', schedule);
    return schedule;
  }

  async get(key: string): Promise<Schedule> {
    const schedule = await this.schedules.find(key);
    if (!schedule) throw new ScheduleNotFoundError(key);
    return schedule;
  }

  /** The next `n` fire instants from now (GET ?preview=N). */
  upcoming(schedule: Schedule, n: number): Date[] {
    const clock = new CronClock(schedule.cron, schedule.timezone, { startAt: schedule.startAt, endAt: schedule.endAt });
    const from = schedule.nextFireAt && schedule.nextFireAt.getTime() > databaseTime.now() ? new Date(schedule.nextFireAt.getTime() - 1) : databaseTime.date();
    return clock.upcoming(n, from);
  }

  async list(limit = 50, cursor?: string): Promise<Page<Schedule>> {
    let after: string | null = null;
    if (cursor) {
      after = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!/^[A-Za-z0-9._:-]{1,200}$/.test(after)) throw badCursor();
    }
    const rows = await this.schedules.list(limit, after);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? Buffer.from(last.name, 'utf8').toString('base64url') : null };
  }

  /** Deletes the schedule; the jobs it created stay (DESIGN §15). */
  async delete(key: string): Promise<void> {
    const schedule = await this.get(key);
    if (!(await this.schedules.delete(schedule.id))) throw new ScheduleNotFoundError(key);
    this.announce('schedule_deleted', schedule, { id: schedule.id, name: schedule.name });
  }

  /**
   * One job now, outside the cron (POST /schedules/{id or name}/trigger): `scheduled_for` = now. It
   * ignores `paused` and `overlap_policy` (it is an explicit request) and counts in fire_count. Its job
   * is a run of the schedule like a tick's: while it is unfinished, the ticks' overlap policy counts it
   * (ScheduleFiring: `skip` creates nothing, `cancel_previous` cancels it), so that under `skip` nothing
   * of the schedule runs twice at once, whichever way each run was started.
   */
  /** `actor`: who triggered it (an API key's name), recorded in the job's job_created log row and event. */
  async trigger(key: string, actor: string | null = null): Promise<Job> {
    // Read before the transaction begins, so that `scheduled_for` is never after the job's `created_at`
    // (the transaction's start); after the last fire, so that two triggers never share an instant.
    const requested = databaseTime.date();
    const { job, schedule, moved } = await this.schedules.transaction(async (tx) => {
      const current = await this.schedules.find(key, tx, true);
      if (!current) throw new ScheduleNotFoundError(key);
      // After the last fire; and after any instant another trigger took: a tick handled late moves
      // last_fire_at back to its own instant, behind a trigger's, and the next trigger would take that
      // trigger's instant again (the insert creates nothing then): the following instants are tried.
      let now = triggerInstant(requested, current.lastFireAt ?? null);
      const draftAt = (at: Date) => ({ ...this.template.draft(current.job, current.id, at), actor });
      let inserted = await this.jobs.insert([draftAt(now)], tx);
      for (let tries = 1; !inserted.jobs[0] && tries < TRIGGER_TRIES; tries++) {
        now = triggerInstant(requested, now);
        inserted = await this.jobs.insert([draftAt(now)], tx);
      }
      const created = inserted.jobs[0];
      if (!created) throw new TickTakenError(current.name, now);
      const updated = await this.schedules.recordFires(
        current.id,
        { nextFireAt: current.nextFireAt, fired: 1, skipped: 0, lastFireAt: now, lastJobId: created.id },
        tx,
      );
      return { job: created, schedule: updated, moved: inserted };
    });
    this.jobs.committed([moved], 'trigger', 1);
    this.jobs.announce({ event: 'schedule_fired', scheduleId: schedule.id, data: { name: schedule.name, job_id: job.id, scheduled_for: job.scheduledFor!.toISOString(), trigger: true } });
    return job;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Every writable field, checked all at once and with defaults applied, the cursor they give (counted
   * from `from`), and the pause times a change of `paused` at `at` leaves on `current` (null: a new schedule).
   */
  private fields(
    dto: Omit<CreateScheduleDto, 'start_at' | 'end_at'> & { start_at?: string | null; end_at?: string | null },
    current: Schedule | null,
    at: Date,
    from = databaseTime.date(),
  ): ScheduleFields {
    const problems: FieldProblem[] = [];
    if (UUID.test(dto.name)) {
      problems.push({ field: 'name', message: `name "${dto.name}" has the shape of a schedule id (a UUID), so /schedules/{id or name} would read it as an id: choose another name` });
    }
    const check = checkCron(dto.cron, dto.timezone ?? 'UTC');
    if ('problems' in check) problems.push(...check.problems);
    const startAt = instant(dto.start_at, 'start_at', problems);
    const endAt = instant(dto.end_at, 'end_at', problems);
    if (startAt && startAt.getTime() > latestRunAt(databaseTime.date()).getTime()) {
      problems.push({ field: 'start_at', message: `start_at is more than ${MAX_YEARS_AHEAD} years ahead` });
    }
    if (startAt && endAt && startAt.getTime() > endAt.getTime()) {
      problems.push({ field: 'end_at', message: `end_at (${endAt.toISOString()}) must not be before start_at (${startAt.toISOString()})` });
    }
    if (problems.length > 0) throw new ValidationFailedError(problems, problems.some((p) => p.field === 'cron') ? INVALID_CRON : VALIDATION_FAILED);
    const job = this.template.check(dto.job);
    const { cron, timezone } = check as { cron: string; timezone: string };
    const nextFireAt = new CronClock(cron, timezone, { startAt, endAt }).next(from);
    const paused = dto.paused ?? false;
    return {
      name: dto.name,
      cron,
      timezone,
      job,
      overlapPolicy: dto.overlap_policy ?? 'skip',
      catchUp: dto.catch_up ?? 'latest',
      paused,
      ...pauseTimes(current, paused, at),
      startAt,
      endAt,
      nextFireAt,
    };
  }

  private announce(event: 'schedule_created' | 'schedule_updated' | 'schedule_deleted', schedule: Schedule, data?: Record<string, unknown>): void {
    this.jobs.announce({ event, scheduleId: schedule.id, data: data ?? { ...ScheduleResponseDto.from(schedule) } });
  }
}

/** Whether the ticks stay the same (the cursor can be kept). */
function sameTiming(current: Schedule, next: ScheduleFields): boolean {
  const same = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);
  return current.cron === next.cron && current.timezone === next.timezone && same(current.startAt, next.startAt) && same(current.endAt, next.endAt);
}

/**
 * Where a schedule whose timing changes starts counting its ticks: now, or just before its tick that fell
 * due and has not fired yet (the firing skips a schedule while a change holds its row), so that a change
 * made as a tick falls due never takes that tick away. The firing applies catch_up to it as to any late tick.
 */
function countFrom(current: Schedule | null, now: Date): Date {
  const cursor = current?.nextFireAt;
  return cursor && cursor.getTime() <= now.getTime() ? new Date(cursor.getTime() - 1) : now;
}

/** start_at and end_at: read as run_at is (a real date and time, with a zone), from 1970 on. */
function instant(value: string | null | undefined, field: string, problems: FieldProblem[]): Date | null {
  if (value === null || value === undefined) return null;
  const parsed = parseZonedInstant(value);
  if ('problem' in parsed) {
    problems.push({ field, message: `${field} ${parsed.problem}` });
    return null;
  }
  if (parsed.at.getTime() < EARLIEST_RUN_AT.getTime()) {
    problems.push({ field, message: `${field} is before ${EARLIEST_RUN_AT.toISOString()}` });
    return null;
  }
  // 9999-12-31T23:59:59-01:00 is in year 10000: stored, it would read back in ISO's six-digit year form,
  // which no later PATCH or PUT could send back.
  if (parsed.at.getTime() > LATEST_BOUND.getTime()) {
    problems.push({ field, message: `${field} is after ${LATEST_BOUND.toISOString()}` });
    return null;
  }
  return parsed.at;
}

const LATEST_BOUND = new Date('9999-12-31T23:59:59.999Z');
