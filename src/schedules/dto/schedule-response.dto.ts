import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CATCH_UP_MODES, OVERLAP_POLICIES, type CatchUpMode, type OverlapPolicy } from '../domain/schedule-policies.js';
import type { Schedule } from '../entities/schedule.entity.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A schedule on the wire (DESIGN §11). */
export class ScheduleResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'daily-report' }) name!: string;
  @ApiProperty({ example: '0 9 * * *' }) cron!: string;
  @ApiProperty({ example: 'Europe/Berlin' }) timezone!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { type: 'report_generation', payload: { report_type: 'daily_summary' } } })
  job!: Record<string, unknown>;
  @ApiProperty({ enum: OVERLAP_POLICIES }) overlap_policy!: OverlapPolicy;
  @ApiProperty({ enum: CATCH_UP_MODES }) catch_up!: CatchUpMode;
  @ApiProperty() paused!: boolean;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) start_at!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) end_at!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'The next tick; null past end_at.' }) next_fire_at!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'The tick (scheduled_for) of the last job created.' }) last_fire_at!: string | null;
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true }) last_job_id!: string | null;
  @ApiProperty({ type: 'integer', description: 'Jobs created (ticks and triggers).' }) fire_count!: number;
  @ApiProperty({ type: 'integer', description: 'Ticks that created no job: overlap skip, dropped catch-up, paused.' }) skip_count!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
  @ApiPropertyOptional({ type: 'string', format: 'date-time', isArray: true, description: 'With ?preview=N: the next N fire instants.' })
  upcoming?: string[];

  static from(s: Schedule, upcoming?: Date[]): ScheduleResponseDto {
    return {
      id: s.id,
      name: s.name,
      cron: s.cron,
      timezone: s.timezone,
      job: s.job,
      overlap_policy: s.overlapPolicy,
      catch_up: s.catchUp,
      paused: s.paused,
      start_at: iso(s.startAt),
      end_at: iso(s.endAt),
      next_fire_at: iso(s.nextFireAt),
      last_fire_at: iso(s.lastFireAt),
      last_job_id: s.lastJobId,
      fire_count: s.fireCount,
      skip_count: s.skipCount,
      created_at: s.createdAt.toISOString(),
      updated_at: s.updatedAt.toISOString(),
      ...(upcoming ? { upcoming: upcoming.map((d) => d.toISOString()) } : {}),
    };
  }
}

export class SchedulePageResponseDto {
  @ApiProperty({ type: ScheduleResponseDto, isArray: true }) items!: ScheduleResponseDto[];
  @ApiProperty({ type: 'string', nullable: true }) next_cursor!: string | null;
}
