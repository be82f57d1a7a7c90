import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { toList } from '../../common/http/query-lists.js';
import { WORKER_STATUSES, type WorkerStatus } from '../entities/worker.entity.js';

/** Workers shown when no status is asked for: those that can take work or are finishing it. */
export const DEFAULT_WORKER_STATUSES: readonly WorkerStatus[] = ['active', 'draining'];

export class ListWorkersQueryDto {
  @ApiPropertyOptional({
    enum: WORKER_STATUSES,
    isArray: true,
    default: DEFAULT_WORKER_STATUSES,
    example: ['lost', 'stopped'],
    description:
      'Repeatable or comma-separated; default active and draining. Stopped and lost workers are kept for WORKER_RETENTION_SECONDS (default one day), then forgotten.',
  })
  @Omittable() @Transform(toList) @IsIn(WORKER_STATUSES, { each: true, message: `each status must be one of: ${WORKER_STATUSES.join(', ')}` })
  status?: WorkerStatus[];
}
