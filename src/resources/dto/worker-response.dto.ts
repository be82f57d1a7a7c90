import { ApiProperty } from '@nestjs/swagger';
import { WORKER_STATUSES, type WorkerStatus } from '../entities/worker.entity.js';

class WorkerCapacityDto {
  @ApiProperty({ type: 'integer', example: 10 }) max_concurrent_jobs!: number;
  @ApiProperty({ type: 'integer', example: 8 }) max_cpu_units!: number;
  @ApiProperty({ type: 'integer', example: 4096 }) max_memory_mb!: number;
}

class WorkerAllocationDto {
  @ApiProperty({ type: 'integer', example: 2, description: 'Slots booked (jobs placed, running, or cancelled and still stopping).' }) slots!: number;
  @ApiProperty({ type: 'integer', example: 3 }) cpu_units!: number;
  @ApiProperty({ type: 'integer', example: 640 }) memory_mb!: number;
}

export class WorkerResponseDto {
  @ApiProperty({ example: 'host-1-4242-a1b2' }) id!: string;
  @ApiProperty({ example: 'host-1' }) host!: string;
  @ApiProperty({ type: 'integer', example: 4242 }) pid!: number;
  @ApiProperty({ enum: WORKER_STATUSES, example: 'active' }) status!: WorkerStatus;
  @ApiProperty({ type: WorkerCapacityDto }) capacity!: WorkerCapacityDto;
  @ApiProperty({ type: WorkerAllocationDto }) allocated!: WorkerAllocationDto;
  @ApiProperty({ type: 'string', format: 'uuid', isArray: true }) running_jobs!: string[];
  @ApiProperty({ type: 'string', format: 'uuid', isArray: true, description: 'Placed on the worker, not started yet.' }) placed_jobs!: string[];
  @ApiProperty({
    type: 'string',
    format: 'uuid',
    isArray: true,
    description: 'Cancelled while running, their handlers not stopped yet: they still hold their resources (counted in `allocated`) until they do.',
  })
  stopping_jobs!: string[];
  @ApiProperty({ format: 'date-time' }) started_at!: string;
  @ApiProperty({ format: 'date-time' }) last_heartbeat_at!: string;
}

export class WorkerListResponseDto {
  @ApiProperty({ type: WorkerResponseDto, isArray: true }) items!: WorkerResponseDto[];
}
