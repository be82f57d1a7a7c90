import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './common/http/api-key.guard.js';
import { DomainErrorFilter } from './common/http/domain-error.filter.js';
import { KnownQueryGuard } from './common/http/known-query.guard.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { deploymentOf } from './config/deployment.js';
import { DatabaseModule } from './database/database.module.js';
import { ExecutorModule } from './executor/executor.module.js';
import { HandlersModule } from './executor/handlers.module.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { HealthModule, MetricsModule } from './health/health.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { PortsModule } from './ports.module.js';
import { QueuesModule } from './queues/queues.module.js';
import { SchedulerModule } from './scheduler/scheduler.module.js';
import { SchedulesModule } from './schedules/schedules.module.js';
import { StatsModule } from './stats/stats.module.js';

/** The root module, assembled for one role (DESIGN §1). */
@Module({})
export class AppModule {
  static forRole(config: AppConfig): DynamicModule {
    const servesHttp = config.role === 'api' || config.role === 'all';
    const runsJobs = config.role === 'worker' || config.role === 'all';
    const deployment = deploymentOf(config);
    const imports: NonNullable<ModuleMetadata['imports']> = [
      ConfigModule.forRoot(config),
      DatabaseModule,
      PortsModule.forDeployment(config, deployment),
      MetricsModule,
      JobsModule,
      HandlersModule,
    ];
    if (servesHttp) imports.push(HealthModule, QueuesModule, SchedulesModule, StatsModule, SchedulerModule, GatewayModule.replayingFrom(JobsModule));
    if (runsJobs) imports.push(ExecutorModule.forDeployment(deployment));
    return {
      module: AppModule,
      imports,
      providers: servesHttp
        ? [
            { provide: APP_FILTER, useClass: DomainErrorFilter },
            { provide: APP_GUARD, useClass: ApiKeyGuard },
            { provide: APP_GUARD, useClass: KnownQueryGuard },
          ]
        : [],
    };
  }
}
