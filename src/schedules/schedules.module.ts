import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { ScheduleFiring } from './schedule-firing.js';
import { ScheduleJobs } from './schedule-jobs.js';
import { ScheduleRepository } from './schedule.repository.js';
import { ScheduleTemplate } from './schedule-template.js';
import { SchedulesController } from './schedules.controller.js';
import { SchedulesService } from './schedules.service.js';

/** Recurring schedules (DESIGN §11): the /schedules endpoints, and the firing of due ticks that the leader drives. */
@Module({
  imports: [JobsModule],
  controllers: [SchedulesController],
  providers: [SchedulesService, ScheduleFiring, ScheduleJobs, ScheduleRepository, ScheduleTemplate],
  exports: [ScheduleFiring],
})
export class SchedulesModule {}
