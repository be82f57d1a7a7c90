import { CreateSchema1795800000000 } from './1795800000000-create-schema.js';
import { JobLogsPrimaryKey1795900000000 } from './1795900000000-job-logs-primary-key.js';
import { LeasesAndFencing1796000000000 } from './1796000000000-leases-and-fencing.js';
import { DelayedJobs1796310000000 } from './1796310000000-delayed-jobs.js';
import { QueuesAndConcurrencyKeys1796400000000 } from './1796400000000-queues-and-concurrency-keys.js';
import { FinishedJobsIndex1796405000000 } from './1796405000000-finished-jobs-index.js';
import { RecurringSchedules1796350000000 } from './1796350000000-recurring-schedules.js';
import { RerunAndRetention1796500000000 } from './1796500000000-rerun-and-retention.js';
import { CountDeltasAndStartIndex1796620000000 } from './1796620000000-count-deltas-and-start-index.js';
import { ReadyKeyDueIndex1796630000000 } from './1796630000000-ready-key-due-index.js';
import { ScheduleTemplateNulls1796700000000 } from './1796700000000-schedule-template-nulls.js';
import { RateLimitStarts1796750000000 } from './1796750000000-rate-limit-starts.js';
import { SchedulePauseSpan1796800000000 } from './1796800000000-schedule-pause-span.js';
import { ScheduleUnfinishedJobsIndex1796810000000 } from './1796810000000-schedule-unfinished-jobs-index.js';
import { HeartbeatSequence1796900000000 } from './1796900000000-heartbeat-sequence.js';
import { WorkerBootToken1797000000000 } from './1797000000000-worker-boot-token.js';
import { ScheduleRunsIndex1797010000000 } from './1797010000000-schedule-runs-index.js';
import { FinishedJobsByTypeIndex1797020000000 } from './1797020000000-finished-jobs-by-type-index.js';
import { DependencyWalkEstimates1797030000000 } from './1797030000000-dependency-walk-estimates.js';

/** Every migration, in order. Explicit classes, not globs (STACK §5.10). */
export const MIGRATIONS = [
  CreateSchema1795800000000,
  JobLogsPrimaryKey1795900000000,
  LeasesAndFencing1796000000000,
  DelayedJobs1796310000000,
  RecurringSchedules1796350000000,
  QueuesAndConcurrencyKeys1796400000000,
  FinishedJobsIndex1796405000000,
  RerunAndRetention1796500000000,
  CountDeltasAndStartIndex1796620000000,
  ReadyKeyDueIndex1796630000000,
  ScheduleTemplateNulls1796700000000,
  RateLimitStarts1796750000000,
  SchedulePauseSpan1796800000000,
  ScheduleUnfinishedJobsIndex1796810000000,
  HeartbeatSequence1796900000000,
  WorkerBootToken1797000000000,
  ScheduleRunsIndex1797010000000,
  FinishedJobsByTypeIndex1797020000000,
  DependencyWalkEstimates1797030000000,
];
