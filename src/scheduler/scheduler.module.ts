import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { QueuesModule } from '../queues/queues.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SchedulesModule } from '../schedules/schedules.module.js';
import { LostWorkReaper } from './lost-work-reaper.js';
import { RetentionService } from './retention.service.js';
import { ScheduleTimer } from './schedule-timer.js';
import { SchedulerService } from './scheduler.service.js';
import { WorkersController } from './workers.controller.js';

/** The scheduler, the schedule timer and GET /workers; in the api and all roles (only the elected leader schedules). */
@Module({
  imports: [JobsModule, ResourcesModule, QueuesModule, SchedulesModule],
  controllers: [WorkersController],
  providers: [SchedulerService, LostWorkReaper, RetentionService, ScheduleTimer],
})
export class SchedulerModule {}
