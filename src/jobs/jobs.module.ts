import { Module } from '@nestjs/common';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobQueueService } from './job-queue.service.js';
import { JobRepository } from './job.repository.js';
import { JobTransitionsRepository } from './job-transitions.repository.js';
import { JobTypeCatalog } from './job-type-catalog.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

@Module({
  controllers: [JobsController],
  providers: [JobsService, JobLifecycleService, JobQueueService, JobRepository, JobTransitionsRepository, JobTypeCatalog],
  exports: [JobsService, JobLifecycleService, JobQueueService, JobTypeCatalog],
})
export class JobsModule {}
