import { Module } from '@nestjs/common';
import { PlacementRepository } from './placement.repository.js';
import { PlacementsService } from './placements.service.js';
import { ResourcesService } from './resources.service.js';
import { WorkerRepository } from './worker.repository.js';
import { WorkersController } from './workers.controller.js';

/** Where work fits: the worker registry, the placements on workers, and GET /workers. */
@Module({
  controllers: [WorkersController],
  providers: [ResourcesService, WorkerRepository, PlacementsService, PlacementRepository],
  exports: [ResourcesService, PlacementsService],
})
export class ResourcesModule {}
