import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import { CATCH_UP_MODES, OVERLAP_POLICIES, type CatchUpMode, type OverlapPolicy } from '../domain/schedule-policies.js';

/** A recurring schedule (DESIGN §11). The firing cursor is `nextFireAt`: the earliest tick not yet handled. */
// The partial index is written in the migration; declared here so that migration:generate knows it.
@Entity({ name: 'schedules' })
@Unique('schedules_name_key', ['name'])
@Index('schedules_next_fire_idx', { synchronize: false })
@Check('schedules_bounds_check', '(start_at IS NULL OR end_at IS NULL OR start_at <= end_at)')
export class Schedule {
  @PrimaryColumn({ type: 'uuid', name: 'id', primaryKeyConstraintName: 'schedules_pkey' })
  id!: string;

  @Column({ type: 'varchar', length: 200, name: 'name' })
  name!: string;

  @Column({ type: 'varchar', length: 200, name: 'cron' })
  cron!: string;

  @Column({ type: 'varchar', length: 100, name: 'timezone', default: 'UTC' })
  timezone!: string;

  /** The job template as the client sent it (wire names); defaults apply when a job is made from it. */
  @Column({ type: 'jsonb', name: 'job' })
  job!: Record<string, unknown>;

  @Column({ type: 'enum', enum: OVERLAP_POLICIES, enumName: 'schedule_overlap_policy', name: 'overlap_policy', default: 'skip' })
  overlapPolicy!: OverlapPolicy;

  @Column({ type: 'enum', enum: CATCH_UP_MODES, enumName: 'schedule_catch_up', name: 'catch_up', default: 'latest' })
  catchUp!: CatchUpMode;

  @Column({ type: 'boolean', name: 'paused', default: false })
  paused!: boolean;

  /** When it was last paused (null: never, or before pauses were timed); ticks are judged paused as of their own instant. */
  @Column({ type: 'timestamptz', precision: 3, name: 'paused_at', nullable: true })
  pausedAt!: Date | null;

  /** When it was last resumed (null: never). */
  @Column({ type: 'timestamptz', precision: 3, name: 'resumed_at', nullable: true })
  resumedAt!: Date | null;

  @Column({ type: 'timestamptz', precision: 3, name: 'start_at', nullable: true })
  startAt!: Date | null;

  @Column({ type: 'timestamptz', precision: 3, name: 'end_at', nullable: true })
  endAt!: Date | null;

  @Column({ type: 'timestamptz', precision: 3, name: 'next_fire_at', nullable: true })
  nextFireAt!: Date | null;

  @Column({ type: 'timestamptz', precision: 3, name: 'last_fire_at', nullable: true })
  lastFireAt!: Date | null;

  @Column({ type: 'uuid', name: 'last_job_id', nullable: true })
  lastJobId!: string | null;

  @Column({ type: 'integer', name: 'fire_count', default: 0 })
  fireCount!: number;

  @Column({ type: 'integer', name: 'skip_count', default: 0 })
  skipCount!: number;

  @Column({ type: 'timestamptz', precision: 3, name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', precision: 3, name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
