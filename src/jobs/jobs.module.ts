import { Module } from '@nestjs/common';
import { JobEventLog } from '../events/job-event-log.js';
import { JobTypeNames } from '../events/job-type-names.js';
import { BatchSubmissionService } from './batch-submission.service.js';
import { JobDraftFactory } from './job-draft.factory.js';
import { JobFailureService } from './job-failure.service.js';
import { JobLifecycleService } from './job-lifecycle.service.js';
import { JobQueueService } from './job-queue.service.js';
import { JobEventLogService } from './job-event-log.service.js';
import { JobGraphRepository } from './job-graph.repository.js';
import { JobLogRepository } from './job-log.repository.js';
import { JobRepository } from './job.repository.js';
import { JobStartsRepository } from './job-starts.repository.js';
import { JobTransitionsRepository } from './job-transitions.repository.js';
import { JobCancellationRepository } from './job-cancellation.repository.js';
import { JobCancellationService } from './job-cancellation.service.js';
import { JobTypeCatalog } from './job-type-catalog.js';
import { StuckJobsRepository } from './stuck-jobs.repository.js';
import { ReadyCandidatesRepository } from './ready-candidates.repository.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';
import { JobRerunController } from './job-rerun.controller.js';
import { JobRerunRepository } from './job-rerun.repository.js';
import { JobRerunService } from './job-rerun.service.js';
import { JobBulkRepository } from './job-bulk.repository.js';
import { JobBulkService } from './job-bulk.service.js';
import { JobDeletionRepository } from './job-deletion.repository.js';
import { JobDeletionService } from './job-deletion.service.js';
import { CompletionOutcomeRepository } from './completion-outcome.repository.js';

@Module({
  controllers: [JobsController, JobRerunController],
  providers: [
    JobsService,
    BatchSubmissionService,
    JobDraftFactory,
    JobLifecycleService,
    JobFailureService,
    JobQueueService,
    JobRepository,
    JobGraphRepository,
    JobLogRepository,
    { provide: JobEventLog, useClass: JobEventLogService },
    { provide: JobTypeNames, useExisting: JobTypeCatalog },
    JobTransitionsRepository,
    JobCancellationRepository,
    JobCancellationService,
    JobStartsRepository,
    StuckJobsRepository,
    ReadyCandidatesRepository,
    JobTypeCatalog,
    JobRerunService,
    JobRerunRepository,
    JobBulkService,
    JobBulkRepository,
    JobDeletionService,
    JobDeletionRepository,
    CompletionOutcomeRepository,
  ],
  exports: [JobsService, JobLifecycleService, JobFailureService, JobCancellationService, JobQueueService, JobTypeCatalog, JobDeletionService, JobDraftFactory, JobEventLog, JobTypeNames],
})
export class JobsModule {}
