import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { AppConfig } from './config/app-config.js';
import { Deployment } from './config/deployment.js';
import { BullJobDispatcher } from './dispatch/bull-job-dispatcher.js';
import { BullQueues } from './dispatch/bull-queues.js';
import { InProcessJobDispatcher, InProcessQueues } from './dispatch/in-process-queues.js';
import { JobDispatcher } from './dispatch/job-dispatcher.js';
import { InProcessJobEventBus } from './events/in-process-job-event-bus.js';
import { JobEventBus } from './events/job-event-bus.js';
import { RedisJobEventBus } from './events/redis-job-event-bus.js';
import { RedisConnections } from './redis/redis-connections.js';
import { LeaderElection } from './leadership/leader-election.js';
import { PgAdvisoryLeaderElection } from './leadership/pg-advisory-leader-election.js';
import { SingleProcessLeadership } from './leadership/single-process-leadership.js';

/**
 * The three ports of DESIGN §1 (JobDispatcher, JobEventBus, LeaderElection) and what they need,
 * bound to their real or embedded implementations in this one place, from the Deployment decided
 * at boot. Nothing above the ports knows which it got.
 */
@Global()
@Module({})
export class PortsModule {
  static forDeployment(config: AppConfig, deployment: Deployment): DynamicModule {
    const providers: Provider[] = [{ provide: Deployment, useValue: deployment }];
    const exported: Array<Provider | Function> = [Deployment, JobEventBus, JobDispatcher, LeaderElection];
    providers.push({ provide: InProcessQueues, useValue: new InProcessQueues() });
    exported.push(InProcessQueues);
    if (deployment.messaging === 'redis') {
      providers.push(
        { provide: RedisConnections, useFactory: () => new RedisConnections(config.redisUrl!, config.redisPrefix, config.redisSocketTimeoutMs) },
        {
          provide: JobEventBus,
          inject: [RedisConnections],
          useFactory: (redis: RedisConnections) =>
            new RedisJobEventBus(redis.client, () => redis.open('events-subscriber'), redis.channel('job-events')),
        },
        { provide: BullQueues, inject: [RedisConnections], useFactory: (redis: RedisConnections) => new BullQueues(redis) },
        {
          provide: JobDispatcher,
          inject: [BullQueues, InProcessQueues],
          useFactory: (bull: BullQueues, local: InProcessQueues) => new BullJobDispatcher(bull, local),
        },
      );
      exported.push(RedisConnections, BullQueues);
    } else {
      providers.push(
        { provide: JobEventBus, useValue: new InProcessJobEventBus() },
        { provide: JobDispatcher, inject: [InProcessQueues], useFactory: (queues: InProcessQueues) => new InProcessJobDispatcher(queues) },
      );
    }
    providers.push({
      provide: LeaderElection,
      useFactory: () =>
        deployment.leadership === 'advisory-lock' ? new PgAdvisoryLeaderElection(config.databaseUrl!, config.workerLostSeconds) : new SingleProcessLeadership(deployment.database === 'postgres' ? config.databaseUrl! : null, undefined, {
              connectMs: config.dbConnectTimeoutMs,
              queryMs: config.dbQueryTimeoutMs,
            }),
    });
    return { module: PortsModule, providers, exports: exported };
  }
}
