import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { QueueSettingsRepository } from './queue-settings.repository.js';
import { QueuesController } from './queues.controller.js';
import { QueuesService } from './queues.service.js';
import { RateLimitStartsRepository } from './rate-limit-starts.repository.js';

/** Queues and their settings (DESIGN §12): GET /queues, GET and PATCH /queues/{type}. */
@Module({
  imports: [JobsModule],
  controllers: [QueuesController],
  providers: [QueuesService, QueueSettingsRepository, RateLimitStartsRepository],
  exports: [QueuesService, RateLimitStartsRepository],
})
export class QueuesModule {}
