import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { ExecutionProcessor } from './execution.processor.js';
import { ExecutionService } from './execution.service.js';
import { HandlersModule } from './handlers.module.js';
import { WorkerAgent } from './worker-agent.service.js';
import { WorkerIdentity } from './worker-identity.js';

/** The worker: registration, heartbeat, its Bull consumer and the runs of jobs (worker and all roles). */
@Module({
  imports: [JobsModule, ResourcesModule, HandlersModule],
  providers: [
    { provide: WorkerIdentity, inject: [AppConfig], useFactory: (config: AppConfig) => new WorkerIdentity(config) },
    ExecutionService,
    ExecutionProcessor,
    WorkerAgent,
  ],
  exports: [WorkerIdentity],
})
export class ExecutorModule {}
