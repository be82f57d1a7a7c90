import { Module } from '@nestjs/common';
import { JobRepository } from './job.repository.js';
import { JobTypeCatalog } from './job-type-catalog.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

@Module({
  controllers: [JobsController],
  providers: [JobsService, JobRepository, JobTypeCatalog],
  exports: [JobsService, JobTypeCatalog],
})
export class JobsModule {}
