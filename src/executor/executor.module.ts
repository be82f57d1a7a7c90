import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { BullQueues } from '../dispatch/bull-queues.js';
import { workerQueueName } from '../dispatch/job-dispatcher.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { EXECUTION_QUEUE, ExecutionProcessor } from './execution.processor.js';
import { ExecutionService } from './execution.service.js';
import { HandlersModule } from './handlers.module.js';
import { WorkerAgent } from './worker-agent.service.js';
import { WorkerIdentity } from './worker-identity.js';

/** Who this worker is; its own module so the queue registration below can use it. */
@Module({
  providers: [{ provide: WorkerIdentity, inject: [AppConfig], useFactory: (config: AppConfig) => new WorkerIdentity(config) }],
  exports: [WorkerIdentity],
})
export class WorkerIdentityModule {}

/** The worker: registration, heartbeat, its Bull consumer and the runs of jobs (worker and all roles). */
@Module({
  imports: [
    JobsModule,
    ResourcesModule,
    HandlersModule,
    WorkerIdentityModule,
    // The worker's own queue, named after it (known only at boot, hence the async registration).
    BullModule.registerQueueAsync({
      name: EXECUTION_QUEUE,
      imports: [WorkerIdentityModule],
      inject: [WorkerIdentity, BullQueues],
      useFactory: (identity: WorkerIdentity, bull: BullQueues) => ({ ...bull.options(), name: workerQueueName(identity.id) }),
    }),
  ],
  providers: [ExecutionService, ExecutionProcessor, WorkerAgent],
})
export class ExecutorModule {}
