import { BullModule } from '@nestjs/bull';
import { Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { Deployment } from '../config/deployment.js';
import { BullQueues } from '../dispatch/bull-queues.js';
import { BullWorkerQueue, EXECUTION_QUEUE } from '../dispatch/bull-worker-queue.js';
import { InProcessQueues } from '../dispatch/in-process-queues.js';
import { workerQueueName } from '../dispatch/job-dispatcher.js';
import { LanedWorkerQueue, WorkerQueue } from '../dispatch/worker-queue.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { workerLeaseMs, WorkerLease } from './domain/worker-lease.js';
import { WORKER_LEASE_VIEW } from '../common/domain/worker-lease-view.js';
import { ExecutionProcessor } from './execution.processor.js';
import { ExecutionService } from './execution.service.js';
import { HeartbeatConnection } from './heartbeat-connection.js';
import { HandlersModule } from './handlers.module.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { WorkerAgent } from './worker-agent.service.js';
import { WorkerIdentity } from './worker-identity.js';

/** Who this worker is; its own module so the queue registration below can use it. */
@Module({
  providers: [{ provide: WorkerIdentity, inject: [AppConfig], useFactory: (config: AppConfig) => new WorkerIdentity(config) }],
  exports: [WorkerIdentity],
})
export class WorkerIdentityModule {}

/** The worker: registration, heartbeat, its queue's consumer and the runs of jobs (worker and all roles). */
@Module({})
export class ExecutorModule {
  static forDeployment(deployment: Deployment): DynamicModule {
    const queue: Pick<DynamicModule, 'imports' | 'providers'> =
      deployment.messaging === 'redis'
        ? {
            imports: [
              // The worker's own Bull queue, named after it (known only at boot, hence the async registration).
              BullModule.registerQueueAsync({
                name: EXECUTION_QUEUE,
                imports: [WorkerIdentityModule],
                inject: [WorkerIdentity, BullQueues],
                useFactory: (identity: WorkerIdentity, bull: BullQueues) => ({ ...bull.options(), name: workerQueueName(identity.id) }),
              }),
            ],
            providers: [
              BullWorkerQueue,
              {
                provide: WorkerQueue,
                inject: [BullWorkerQueue, InProcessQueues, WorkerIdentity],
                useFactory: (bull: BullWorkerQueue, local: InProcessQueues, identity: WorkerIdentity) =>
                  new LanedWorkerQueue([bull, local.consumerQueue(identity.id)]),
              },
            ],
          }
        : {
            imports: [],
            providers: [
              {
                provide: WorkerQueue,
                inject: [InProcessQueues, WorkerIdentity],
                useFactory: (queues: InProcessQueues, identity: WorkerIdentity) => queues.consumerQueue(identity.id),
              },
            ],
          };
    return {
      module: ExecutorModule,
      imports: [JobsModule, ResourcesModule, HandlersModule, WorkerIdentityModule, ...(queue.imports ?? [])],
      providers: [
        ExecutionService,
        ExecutionProcessor,
        OutcomeRecorder,
        HeartbeatConnection,
        WorkerAgent,
        {
          provide: WorkerLease,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => new WorkerLease(workerLeaseMs(config.workerLostSeconds, config.heartbeatIntervalMs)),
        },
        { provide: WORKER_LEASE_VIEW, useExisting: WorkerLease },
        ...(queue.providers ?? []),
      ],
    };
  }
}
