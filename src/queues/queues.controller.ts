import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiBody, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiEndpoint, type RouteError } from '../common/http/api-endpoint.decorator.js';
import { QUEUE_NOT_FOUND } from '../common/domain/error-codes.js';
import { ACTION_ROLES, RequiresRole } from '../common/http/roles.js';
import { Actor } from '../common/http/api-keys.js';
import { QueueListResponseDto, QueueResponseDto, UpdateQueueDto } from './dto/queue.dto.js';
import { QueuesService, type QueueView } from './queues.service.js';

const toDto = (q: QueueView) => QueueResponseDto.from(q.settings, q.counts, q.oldestReadyAt);

const UPDATE_EXAMPLES = {
  pause: { summary: 'Stop sending emails while the SMTP provider is down', value: { paused: true } },
  resume: { summary: 'Resume', value: { paused: false } },
  concurrency: { summary: 'At most 5 exports at once across the cluster', value: { concurrency_limit: 5 } },
  perTenant: { summary: 'At most 2 at once per concurrency_key (tenant)', value: { key_concurrency_limit: 2 } },
  rate: { summary: 'No more than 10 calls a second to a partner API', value: { rate_limit: { limit: 10, interval_ms: 1000 } } },
  clear: { summary: 'Remove every limit', value: { paused: false, concurrency_limit: null, key_concurrency_limit: null, rate_limit: null } },
};

const NOT_FOUND: RouteError = {
  status: 404,
  text: 'No job type of this name (QUEUE_NOT_FOUND): a queue is a registered job type.',
  code: QUEUE_NOT_FOUND,
  message: 'no queue exports: a queue is a registered job type (data_export, data_fetch, data_processing, noop, report_generation, send_email)',
};

@ApiTags('queues')
@Controller('queues')
export class QueuesController {
  constructor(private readonly queues: QueuesService) {}

  @Get()
  @ApiEndpoint({ summary: 'Queues (one per job type): settings, counts by status, oldest ready job', ok: QueueListResponseDto })
  async list(): Promise<QueueListResponseDto> {
    return { items: (await this.queues.list()).map(toDto) };
  }

  @Get(':type')
  @ApiParam({ name: 'type', example: 'data_export' })
  @ApiEndpoint({ summary: 'A queue', ok: QueueResponseDto, errors: [NOT_FOUND] })
  async get(@Param('type') type: string): Promise<QueueResponseDto> {
    return toDto(await this.queues.get(type));
  }

  @Patch(':type')
  @ApiParam({ name: 'type', example: 'data_export' })
  @ApiEndpoint({
    summary: "Change a queue's settings: pause, concurrency limits, rate limit",
    description: 'Only the fields given change; null clears a limit. The scheduler applies the change within a second; it survives restarts and leader changes.',
    ok: QueueResponseDto,
    errors: [400, NOT_FOUND, 415],
  })
  @ApiBody({ type: UpdateQueueDto, examples: UPDATE_EXAMPLES })
  @RequiresRole(ACTION_ROLES.queueSettings)
  async update(@Param('type') type: string, @Body() dto: UpdateQueueDto, @Actor() actor: string): Promise<QueueResponseDto> {
    return toDto(await this.queues.update(type, dto, actor));
  }
}
