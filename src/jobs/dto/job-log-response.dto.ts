import { ApiProperty } from '@nestjs/swagger';
import { LOG_LEVELS, type JobLog, type JobLogLevel } from '../entities/job-log.entity.js';

export class JobLogResponseDto {
  @ApiProperty({ example: '42', description: 'Increasing with time.' }) id!: string;
  @ApiProperty({ format: 'date-time' }) timestamp!: string;
  @ApiProperty({ enum: LOG_LEVELS, example: 'info' }) level!: JobLogLevel;
  @ApiProperty({ example: 'job started on worker w-1' }) message!: string;
  @ApiProperty({ type: 'integer', example: 1, description: 'The attempt the line belongs to (0 before the first run).' }) attempt!: number;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) data!: Record<string, unknown> | null;

  static from(log: JobLog): JobLogResponseDto {
    return {
      id: String(log.id),
      timestamp: log.createdAt.toISOString(),
      level: log.level,
      message: log.message,
      attempt: log.attempt,
      data: log.data,
    };
  }
}

export class JobLogPageResponseDto {
  @ApiProperty({ type: JobLogResponseDto, isArray: true }) items!: JobLogResponseDto[];
  @ApiProperty({ type: 'string', nullable: true }) next_cursor!: string | null;
}
