import { Job } from '../jobs/entities/job.entity.js';
import { JobDependency } from '../jobs/entities/job-dependency.entity.js';
import { JobLog } from '../jobs/entities/job-log.entity.js';
import { JobCountDeltaRow, JobCountRow } from '../queues/entities/job-count.entity.js';
import { QueueSettingsRow } from '../queues/entities/queue-settings.entity.js';
import { Worker } from '../resources/entities/worker.entity.js';
import { Schedule } from '../schedules/entities/schedule.entity.js';

export const ENTITIES = [Job, JobDependency, JobLog, Worker, QueueSettingsRow, JobCountRow, JobCountDeltaRow, Schedule];
