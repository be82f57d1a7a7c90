import { Module } from '@nestjs/common';
import { ResourcesService } from './resources.service.js';
import { WorkerRepository } from './worker.repository.js';

@Module({
  providers: [ResourcesService, WorkerRepository],
  exports: [ResourcesService],
})
export class ResourcesModule {}
