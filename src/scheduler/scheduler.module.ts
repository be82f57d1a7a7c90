import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { QueuesModule } from '../queues/queues.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SchedulesModule } from '../schedules/schedules.module.js';
import { DueTimer } from './due-timer.js';
import { FlowControlState } from './flow-control-state.js';
import { HandOver } from './hand-over.js';
import { LostWorkReaper } from './lost-work-reaper.js';
import { PlacementPass } from './placement-pass.js';
import { RateLimitStartLog } from './rate-limit-start-log.js';
import { Reconciler } from './reconciler.js';
import { RetentionService } from './retention.service.js';
import { ScheduleTimer } from './schedule-timer.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { SchedulerService } from './scheduler.service.js';
import { WorkerRooms } from './worker-rooms.js';

/** The scheduler and the schedule timer; in the api and all roles (only the elected leader schedules). */
@Module({
  imports: [JobsModule, ResourcesModule, QueuesModule, SchedulesModule],
  providers: [
    SchedulerService,
    SchedulerTasks,
    WorkerRooms,
    FlowControlState,
    RateLimitStartLog,
    PlacementPass,
    HandOver,
    DueTimer,
    Reconciler,
    LostWorkReaper,
    RetentionService,
    ScheduleTimer,
  ],
})
export class SchedulerModule {}
