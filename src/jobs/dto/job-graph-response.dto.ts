import { ApiProperty } from '@nestjs/swagger';
import { JOB_STATUSES, type JobStatus } from '../domain/job-state.js';
import { JobResponseDto } from './job-response.dto.js';

class JobGraphNodeDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ type: 'string', nullable: true, example: 'fetch' }) ref!: string | null;
  @ApiProperty({ example: 'data_fetch' }) type!: string;
  @ApiProperty({ enum: JOB_STATUSES, example: 'completed' }) status!: JobStatus;
}

class JobGraphEdgeDto {
  @ApiProperty({ format: 'uuid', description: 'The dependency: it must complete first.' }) from!: string;
  @ApiProperty({ format: 'uuid', description: 'The dependent job, which waits for `from`.' }) to!: string;
}

export class JobGraphResponseDto {
  @ApiProperty({ type: JobGraphNodeDto, isArray: true }) nodes!: JobGraphNodeDto[];
  @ApiProperty({ type: JobGraphEdgeDto, isArray: true }) edges!: JobGraphEdgeDto[];
  @ApiProperty({ description: 'True when the graph has more than 20,000 jobs and only the oldest are listed.' }) truncated!: boolean;
}

export class JobBatchResponseDto {
  @ApiProperty({ type: JobResponseDto, isArray: true, description: 'The jobs, in the order submitted.' }) items!: JobResponseDto[];
}
