/**
 * The wire types, taken from the server's own DTOs and domain constants (type-only where the
 * server's file needs Nest; the constants are plain arrays shared with the server).
 */
import type { JobGraphResponseDto } from '../../../src/jobs/dto/job-graph-response.dto.js';
import type { JobLogPageResponseDto, JobLogResponseDto } from '../../../src/jobs/dto/job-log-response.dto.js';
import type { JobPageResponseDto, JobResponseDto } from '../../../src/jobs/dto/job-response.dto.js';
import type { JobUpdate as JobUpdateWire } from '../../../src/gateway/job-stream.gateway.js';
import type { QueueListResponseDto, QueueResponseDto, UpdateQueueDto } from '../../../src/queues/dto/queue.dto.js';
import type { SchedulePageResponseDto, ScheduleResponseDto } from '../../../src/schedules/dto/schedule-response.dto.js';
import type { CreateScheduleDto, UpdateScheduleDto } from '../../../src/schedules/dto/schedule.dto.js';
import type { WorkerListResponseDto, WorkerResponseDto } from '../../../src/resources/dto/worker-response.dto.js';
import type { ThroughputResponseDto } from '../../../src/stats/dto/throughput.dto.js';

export { JOB_STATUSES, PRIORITIES, type JobStatus, type Priority } from '../../../src/jobs/domain/job-state.js';
export { JOB_EVENTS, type JobEventName } from '../../../src/events/job-event-bus.js';

export type Job = JobResponseDto;
export type JobPage = JobPageResponseDto;
export type JobLog = JobLogResponseDto;
export type JobLogPage = JobLogPageResponseDto;
export type JobGraph = JobGraphResponseDto;
export type JobGraphNode = JobGraph['nodes'][number];
export type Worker = WorkerResponseDto;
export type WorkerList = WorkerListResponseDto;
export type JobUpdate = JobUpdateWire;

/** A `{code, message, ...}` object: `error` and `waiting_reason`. */
export type CodedInfo = { code?: unknown; message?: unknown; [field: string]: unknown };

/** GET /queues, GET/PATCH /queues/{type} (DESIGN §12, §15). */
export type QueueInfo = QueueResponseDto;
export type QueueList = QueueListResponseDto;
/** The body of PATCH /queues/{type}: the fields given change; null clears a limit. */
export type QueuePatch = UpdateQueueDto;

/** GET /schedules, GET/POST/PATCH /schedules/{id or name} (DESIGN §11). */
export type Schedule = ScheduleResponseDto;
export type SchedulePage = SchedulePageResponseDto;
export type ScheduleCreate = CreateScheduleDto;
export type SchedulePatch = UpdateScheduleDto;

/** GET /stats/throughput (DESIGN §15): jobs finished per bucket over the last minutes. */
export type Throughput = ThroughputResponseDto;
