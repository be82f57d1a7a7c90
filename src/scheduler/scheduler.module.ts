import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { LeaderElection } from './leader-election.js';
import { PgAdvisoryLeaderElection } from './pg-advisory-leader-election.js';
import { SchedulerService } from './scheduler.service.js';
import { WorkersController } from './workers.controller.js';

/** The scheduler and GET /workers; in the api and all roles (only the elected leader schedules). */
@Module({
  imports: [JobsModule, ResourcesModule],
  controllers: [WorkersController],
  providers: [
    SchedulerService,
    {
      provide: LeaderElection,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new PgAdvisoryLeaderElection(config.databaseUrl!),
    },
  ],
})
export class SchedulerModule {}
