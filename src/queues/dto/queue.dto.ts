import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsObject, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { JOB_STATUSES } from '../../jobs/domain/job-state.js';
import type { QueueSettings, StatusCounts } from '../queue-settings.repository.js';

export class RateLimitDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 1_000_000, example: 10, description: 'Starts allowed in any window of interval_ms.' })
  @IsInt({ message: 'rate_limit.limit must be an integer' }) @Min(1) @Max(1_000_000)
  limit!: number;

  @ApiProperty({ type: 'integer', minimum: 100, maximum: 86_400_000, example: 1000, description: 'The sliding window, in ms (at least 100).' })
  @IsInt({ message: 'rate_limit.interval_ms must be an integer' }) @Min(100) @Max(86_400_000)
  interval_ms!: number;
}

/** The body of PATCH /queues/{type}: the fields given change; null clears a limit. */
export class UpdateQueueDto {
  @ApiPropertyOptional({ example: true, description: 'No new job of the type starts while paused (running ones go on; submits are accepted).' })
  @Omittable() @IsBoolean({ message: 'paused must be true or false' })
  paused?: boolean;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: 1_000_000, example: 5, description: 'At most this many jobs of the type placed or running at once, cluster-wide (null: none).' })
  @IsOptional() @IsInt({ message: 'concurrency_limit must be an integer or null' }) @Min(1) @Max(1_000_000)
  concurrency_limit?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: 1_000_000, example: 2, description: 'At most this many placed or running per concurrency_key (jobs without a key are not limited by it; null: none).' })
  @IsOptional() @IsInt({ message: 'key_concurrency_limit must be an integer or null' }) @Min(1) @Max(1_000_000)
  key_concurrency_limit?: number | null;

  @ApiPropertyOptional({ type: RateLimitDto, nullable: true, description: 'At most `limit` starts of the type in any window of `interval_ms`, cluster-wide (null: none).' })
  @IsOptional() @IsObject({ message: 'rate_limit must be an object {limit, interval_ms} or null' }) @ValidateNested() @Type(() => RateLimitDto)
  rate_limit?: RateLimitDto | null;
}

class RateLimitResponseDto {
  @ApiProperty({ type: 'integer', example: 10 }) limit!: number;
  @ApiProperty({ type: 'integer', example: 1000 }) interval_ms!: number;
}

class StatusCountsDto {
  @ApiProperty({ type: 'integer', example: 0 }) pending!: number;
  @ApiProperty({ type: 'integer', example: 0 }) blocked!: number;
  @ApiProperty({ type: 'integer', example: 12 }) ready!: number;
  @ApiProperty({ type: 'integer', example: 5 }) running!: number;
  @ApiProperty({ type: 'integer', example: 1040 }) completed!: number;
  @ApiProperty({ type: 'integer', example: 3 }) failed!: number;
  @ApiProperty({ type: 'integer', example: 0 }) timeout!: number;
  @ApiProperty({ type: 'integer', example: 1 }) cancelled!: number;
}

/** A queue on the wire (DESIGN §12, §15). */
export class QueueResponseDto {
  @ApiProperty({ example: 'data_export', description: 'The job type: a queue is a job type.' }) type!: string;
  @ApiProperty({ example: false }) paused!: boolean;
  @ApiProperty({ type: 'integer', nullable: true, example: 5 }) concurrency_limit!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: null }) key_concurrency_limit!: number | null;
  @ApiProperty({ type: RateLimitResponseDto, nullable: true, example: { limit: 10, interval_ms: 1000 } }) rate_limit!: RateLimitResponseDto | null;
  @ApiProperty({ type: StatusCountsDto, description: 'Jobs of the type by status (counters kept with every transition).' }) counts!: StatusCounts;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When the oldest job still waiting for a worker became ready.' }) oldest_ready_at!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'Last change of the settings (null: never set).' }) updated_at!: string | null;

  static from(settings: QueueSettings, counts: StatusCounts | undefined, oldestReadyAt: Date | undefined): QueueResponseDto {
    return {
      type: settings.type,
      paused: settings.paused,
      concurrency_limit: settings.concurrencyLimit,
      key_concurrency_limit: settings.keyConcurrencyLimit,
      rate_limit: settings.rateLimit ? { limit: settings.rateLimit.limit, interval_ms: settings.rateLimit.intervalMs } : null,
      counts: counts ?? (Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as StatusCounts),
      oldest_ready_at: oldestReadyAt ? oldestReadyAt.toISOString() : null,
      updated_at: settings.updatedAt ? settings.updatedAt.toISOString() : null,
    };
  }
}

export class QueueListResponseDto {
  @ApiProperty({ type: QueueResponseDto, isArray: true }) items!: QueueResponseDto[];
}
