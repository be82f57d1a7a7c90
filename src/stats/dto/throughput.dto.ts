import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, Max, Min } from 'class-validator';
import { Omittable } from '../../common/omittable.js';

/** Bucket widths, in seconds: each divides a minute, so a window of whole minutes is whole buckets. */
export const THROUGHPUT_STEPS = [1, 5, 10, 15, 30, 60] as const;
export const THROUGHPUT_MAX_MINUTES = 60;

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
const MINUTES_MESSAGE = `minutes must be an integer between 1 and ${THROUGHPUT_MAX_MINUTES}`;

export class ThroughputQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: THROUGHPUT_MAX_MINUTES, default: 5, description: 'How far back the window reaches.' })
  @Omittable() @Transform(toInt) @IsInt({ message: MINUTES_MESSAGE }) @Min(1, { message: MINUTES_MESSAGE }) @Max(THROUGHPUT_MAX_MINUTES, { message: MINUTES_MESSAGE })
  minutes?: number;

  @ApiPropertyOptional({ enum: THROUGHPUT_STEPS, default: 1, description: 'The width of a bucket, in seconds.' })
  @Omittable() @Transform(toInt) @IsIn(THROUGHPUT_STEPS, { message: `step_seconds must be one of: ${THROUGHPUT_STEPS.join(', ')}` })
  step_seconds?: number;
}

export class ThroughputBucketDto {
  @ApiProperty({ type: 'string', format: 'date-time', description: 'The start of the bucket.' }) at!: string;
  @ApiProperty({ type: 'integer', example: 42, description: 'Jobs that completed in the bucket.' }) completed!: number;
  @ApiProperty({ type: 'integer', example: 1, description: 'Jobs that failed or timed out for good in the bucket (a retry is not an end).' }) failed!: number;
}

export class ThroughputResponseDto {
  @ApiProperty({ type: 'integer', example: 1 }) step_seconds!: number;
  @ApiProperty({ type: 'string', format: 'date-time', description: 'The start of the window (inclusive).' }) from!: string;
  @ApiProperty({ type: 'string', format: 'date-time', description: 'The end of the window (exclusive): the start of the bucket still counting, which is left out.' }) to!: string;
  @ApiProperty({ type: 'string', format: 'date-time', description: "The database's clock when it counted (the clock of `completed_at`), for a client to align its own." }) now!: string;
  @ApiProperty({ type: [ThroughputBucketDto], description: 'The buckets in which at least one job finished, oldest first; the others count zero.' })
  items!: ThroughputBucketDto[];
}
