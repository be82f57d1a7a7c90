import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UUID } from '../common/domain/uuid.js';
import { Sql } from '../database/sql.js';
import type { CatchUpMode, OverlapPolicy } from './domain/schedule-policies.js';
import { SCHEDULE_NAME } from './dto/schedule.dto.js';
import { Schedule } from './entities/schedule.entity.js';

const COLUMNS = `id, name, cron, timezone, job, overlap_policy, catch_up, paused, paused_at, resumed_at, start_at, end_at, next_fire_at,
  last_fire_at, last_job_id, fire_count, skip_count, created_at, updated_at`;

/** Every writable field of a schedule, with its defaults applied, and the firing cursor they give. */
export interface ScheduleFields {
  name: string;
  cron: string;
  timezone: string;
  job: Record<string, unknown>;
  overlapPolicy: OverlapPolicy;
  catchUp: CatchUpMode;
  paused: boolean;
  /** When `paused` last flipped to true and to false (domain/tick-plan.ts pauseTimes). */
  pausedAt: Date | null;
  resumedAt: Date | null;
  startAt: Date | null;
  endAt: Date | null;
  nextFireAt: Date | null;
}

/** $1..$13 of the statements that write every field: the id, then the fields in this order. */
const fieldParams = (id: string, f: ScheduleFields) => [
  id, f.name, f.cron, f.timezone, JSON.stringify(f.job), f.overlapPolicy, f.catchUp, f.paused, f.startAt, f.endAt, f.nextFireAt, f.pausedAt, f.resumedAt,
];

/** What handling a schedule's due ticks changes on its row. */
export interface FireUpdate {
  nextFireAt: Date | null;
  fired: number;
  skipped: number;
  lastFireAt: Date | null;
  lastJobId: string | null;
}


function rowToSchedule(r: Record<string, unknown>): Schedule {
  return Object.assign(new Schedule(), {
    id: r.id as string,
    name: r.name as string,
    cron: r.cron as string,
    timezone: r.timezone as string,
    job: r.job as Record<string, unknown>,
    overlapPolicy: r.overlap_policy as OverlapPolicy,
    catchUp: r.catch_up as CatchUpMode,
    paused: r.paused as boolean,
    pausedAt: (r.paused_at as Date | null) ?? null,
    resumedAt: (r.resumed_at as Date | null) ?? null,
    startAt: (r.start_at as Date | null) ?? null,
    endAt: (r.end_at as Date | null) ?? null,
    nextFireAt: (r.next_fire_at as Date | null) ?? null,
    lastFireAt: (r.last_fire_at as Date | null) ?? null,
    lastJobId: (r.last_job_id as string | null) ?? null,
    fireCount: r.fire_count as number,
    skipCount: r.skip_count as number,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  } satisfies Schedule);
}

/** SQL for the schedules table. No decisions: those belong to SchedulesService and ScheduleFiring. */
@Injectable()
export class ScheduleRepository {
  constructor(private readonly sql: Sql) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.sql.transaction(work);
  }

  /** Inserts a schedule; throws the unique violation (23505 on schedules_name_key) for a taken name. */
  async insert(id: string, f: ScheduleFields, tx?: EntityManager): Promise<Schedule> {
    const rows = await this.sql.query(
      `INSERT INTO schedules (id, name, cron, timezone, job, overlap_policy, catch_up, paused, start_at, end_at, next_fire_at, paused_at, resumed_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
      fieldParams(id, f),
      tx,
    );
    return rowToSchedule(rows[0]!);
  }

  /**
   * Creates the schedule named `f.name`, or sets every writable field of the existing one (its id,
   * counters and history stay): one statement, so two concurrent PUTs of a new name cannot both insert.
   */
  async upsert(id: string, f: ScheduleFields, tx?: EntityManager): Promise<{ schedule: Schedule; created: boolean }> {
    const rows = await this.sql.query(
      `INSERT INTO schedules AS s (id, name, cron, timezone, job, overlap_policy, catch_up, paused, start_at, end_at, next_fire_at, paused_at, resumed_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT ON CONSTRAINT schedules_name_key DO UPDATE SET
         cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, job = EXCLUDED.job, overlap_policy = EXCLUDED.overlap_policy,
         catch_up = EXCLUDED.catch_up, paused = EXCLUDED.paused, start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
         next_fire_at = EXCLUDED.next_fire_at, paused_at = EXCLUDED.paused_at, resumed_at = EXCLUDED.resumed_at, updated_at = now()
       RETURNING ${COLUMNS}, (xmax = 0) AS created`,
      fieldParams(id, f),
      tx,
    );
    return { schedule: rowToSchedule(rows[0]!), created: rows[0]!.created as boolean };
  }

  /**
   * By id when `key` is UUID-shaped (a name may be too: then the id wins), else by name. `lock`: FOR UPDATE.
   * A key that is neither a UUID nor a valid name names no schedule; it is not sent to the database, which
   * refuses some such text outright (a NUL byte, a lone surrogate).
   */
  async find(key: string, tx?: EntityManager, lock = false): Promise<Schedule | null> {
    if (!UUID.test(key) && !SCHEDULE_NAME.test(key)) return null;
    const suffix = lock ? ' FOR UPDATE' : '';
    const rows = UUID.test(key)
      ? await this.sql.query(
          `SELECT ${COLUMNS} FROM schedules WHERE id = $1::uuid OR name = $2 ORDER BY (id = $1::uuid) DESC LIMIT 1${suffix}`,
          [key.toLowerCase(), key],
          tx,
        )
      : await this.sql.query(`SELECT ${COLUMNS} FROM schedules WHERE name = $1${suffix}`, [key], tx);
    return rows[0] ? rowToSchedule(rows[0]) : null;
  }

  /** Ordered by name, keyset after `afterName`; one more than `limit` when there is a next page. */
  async list(limit: number, afterName: string | null): Promise<Schedule[]> {
    const rows = await this.sql.query(
      `SELECT ${COLUMNS} FROM schedules WHERE $1::varchar IS NULL OR name > $1::varchar ORDER BY name LIMIT $2`,
      [afterName, limit + 1],
    );
    return rows.map(rowToSchedule);
  }

  /** Sets every writable field and the cursor of a locked schedule. */
  async update(id: string, f: ScheduleFields, tx: EntityManager): Promise<Schedule> {
    const rows = await this.sql.query(
      `UPDATE schedules SET name = $2, cron = $3, timezone = $4, job = $5::jsonb, overlap_policy = $6, catch_up = $7, paused = $8,
         start_at = $9, end_at = $10, next_fire_at = $11, paused_at = $12, resumed_at = $13, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      fieldParams(id, f),
      tx,
    );
    return rowToSchedule(rows[0]!);
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.sql.query(`DELETE FROM schedules WHERE id = $1 RETURNING id`, [id]);
    return rows.length > 0;
  }

  /**
   * Claims up to `limit` schedules with a tick due at `now`, earliest first, locked until the transaction
   * ends (schedules_next_fire_idx). SKIP LOCKED: schedules another firing transaction (or a change
   * through the API) holds are left to it, so concurrent claimers split the due set without waiting and
   * never deadlock; one left behind is claimed by the next round or sweep. Also returns the
   * transaction's start (`now()`), the created_at of the jobs it will insert.
   */
  async claimDue(now: Date, limit: number, tx: EntityManager): Promise<{ schedules: Schedule[]; transactionStart: Date | null }> {
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `SELECT ${COLUMNS}, now() AS transaction_start FROM schedules WHERE next_fire_at IS NOT NULL AND next_fire_at <= $1
       ORDER BY next_fire_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
      tx,
    );
    return { schedules: rows.map(rowToSchedule), transactionStart: rows.length > 0 ? (rows[0]!.transaction_start as Date) : null };
  }

  /** recordFires for many schedules in one statement. */
  async recordFiresMany(updates: ReadonlyArray<FireUpdate & { id: string }>, tx: EntityManager): Promise<void> {
    if (updates.length === 0) return;
    await this.sql.query(
      `UPDATE schedules s SET next_fire_at = u.next_fire_at, fire_count = s.fire_count + u.fired, skip_count = s.skip_count + u.skipped,
         last_fire_at = u.last_fire_at, last_job_id = u.last_job_id, updated_at = now()
       FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::timestamptz[], $6::uuid[])
         AS u(id, next_fire_at, fired, skipped, last_fire_at, last_job_id)
       WHERE s.id = u.id`,
      [
        updates.map((u) => u.id), updates.map((u) => u.nextFireAt), updates.map((u) => u.fired), updates.map((u) => u.skipped),
        updates.map((u) => u.lastFireAt), updates.map((u) => u.lastJobId),
      ],
      tx,
    );
  }

  /** Moves the cursor and counters after due ticks were handled (in the handling transaction). */
  async recordFires(id: string, u: FireUpdate, tx: EntityManager): Promise<Schedule> {
    const rows = await this.sql.query(
      `UPDATE schedules SET next_fire_at = $2, fire_count = fire_count + $3, skip_count = skip_count + $4,
         last_fire_at = $5, last_job_id = $6, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, u.nextFireAt, u.fired, u.skipped, u.lastFireAt, u.lastJobId],
      tx,
    );
    return rowToSchedule(rows[0]!);
  }

  /** The earliest next tick of any schedule (the firing timer's target), or null. */
  async earliestNextFire(): Promise<Date | null> {
    const rows: Array<{ at: Date | null }> = await this.sql.query(
      `SELECT min(next_fire_at) AS at FROM schedules WHERE next_fire_at IS NOT NULL`,
    );
    return rows[0]?.at ?? null;
  }
}
