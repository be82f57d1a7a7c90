import { Injectable } from '@nestjs/common';
import { DEFAULT_CPU_UNITS, DEFAULT_MEMORY_MB } from '../common/domain/resource-defaults.js';
import { EXCEEDS_WORKER_LIMITS, TOO_MANY_DEPENDENCIES } from '../common/domain/error-codes.js';
import { uuidv7 } from '../common/uuid-v7.js';
import { UnknownJobTypeError, ValidationFailedError, type FieldProblem } from '../common/errors/domain-error.js';
import { findJsonProblem, MAX_PAYLOAD_DEPTH } from '../common/json-limits.js';
import { AppConfig } from '../config/app-config.js';
import { resolveRunAt } from './domain/run-at.js';
import type { JobFieldsDto } from './dto/submit-job.dto.js';
import { applyFirstState } from './job-first-state.js';
import type { NewJob } from './new-job.js';
import { JobTypeCatalog } from './job-type-catalog.js';
import { databaseTime } from '../common/database-time.js';

/**
 * Turns a submitted job into a row to insert: checks what the DTO's decorators cannot (type,
 * payload, limits) and applies every default (DESIGN §2). `at` is where the job sits in the
 * request (`jobs[3]` in a batch): it prefixes fields and messages.
 */
@Injectable()
export class JobDraftFactory {
  constructor(
    private readonly config: AppConfig,
    private readonly catalog: JobTypeCatalog,
  ) {}

  /**
   * `dto` may carry `run_at` / `delay_ms` (validated by their decorators): the draft is then pending
   * until that instant when it has no dependency (the caller re-applies the first state when it has).
   */
  draft(dto: JobFieldsDto & { run_at?: string | null; delay_ms?: number }, dependencyCount: number, at = '', now = databaseTime.date()): NewJob {
    const payload = dto.payload ?? {};
    const payloadPath = at ? `${at}.payload` : 'payload';
    const tooDeep = findJsonProblem(payload, MAX_PAYLOAD_DEPTH, payloadPath);
    if (tooDeep) throw new ValidationFailedError([tooDeep], tooDeep.code);
    try {
      this.catalog.validatePayload(dto.type, payload, payloadPath);
    } catch (error) {
      if (!at || !(error instanceof UnknownJobTypeError)) throw error;
      throw new UnknownJobTypeError(dto.type, this.catalog.types(), `${at}: `);
    }
    const field = (name: string) => (at ? `${at}.${name}` : name);
    const cpuUnits = dto.resource_requirements?.cpu_units ?? DEFAULT_CPU_UNITS;
    const memoryMb = dto.resource_requirements?.memory_mb ?? DEFAULT_MEMORY_MB;
    const over: FieldProblem[] = [];
    if (cpuUnits > this.config.maxCpuUnits) {
      const name = field('resource_requirements.cpu_units');
      over.push({ field: name, message: `${name} ${cpuUnits} exceeds MAX_CPU_UNITS ${this.config.maxCpuUnits}` });
    }
    if (memoryMb > this.config.maxMemoryMb) {
      const name = field('resource_requirements.memory_mb');
      over.push({ field: name, message: `${name} ${memoryMb} exceeds MAX_MEMORY_MB ${this.config.maxMemoryMb}` });
    }
    // The job could never run: no worker can be that large.
    if (over.length > 0) throw new ValidationFailedError(over, EXCEEDS_WORKER_LIMITS);
    if (dependencyCount > this.config.maxDependenciesPerJob) {
      const name = field('depends_on');
      throw new ValidationFailedError(
        [{ field: name, message: `${at ? `${at}: ` : ''}depends_on lists ${dependencyCount} jobs; at most ${this.config.maxDependenciesPerJob} are allowed (MAX_DEPENDENCIES_PER_JOB)` }],
        TOO_MANY_DEPENDENCIES,
      );
    }
    const retry = this.config.retry;
    const initialDelayMs = dto.retry_config?.initial_delay_ms ?? retry.initialDelayMs;
    const maxDelayMs = dto.retry_config?.max_delay_ms ?? Math.max(retry.maxDelayMs, initialDelayMs);
    if (maxDelayMs < initialDelayMs) {
      const name = field('retry_config.max_delay_ms');
      throw new ValidationFailedError([{ field: name, message: `${name} (${maxDelayMs}) must be at least initial_delay_ms (${initialDelayMs})` }]);
    }
    const draft: NewJob = {
      id: uuidv7(),
      type: dto.type,
      priority: dto.priority ?? 'normal',
      status: 'ready',
      payload,
      cpuUnits,
      memoryMb,
      maxAttempts: dto.retry_config?.max_attempts ?? retry.maxAttempts,
      backoffMultiplier: dto.retry_config?.backoff_multiplier ?? retry.backoffMultiplier,
      initialDelayMs,
      maxDelayMs,
      timeoutSeconds: dto.timeout_seconds ?? this.config.defaultJobTimeoutSeconds,
      idempotencyKey: dto.idempotency_key ?? null,
      concurrencyKey: dto.concurrency_key ?? null,
      ref: null,
      pendingDependencies: 0,
      error: null,
      waitingReason: null,
      completedAt: null,
      actor: null,
      runAt: resolveRunAt(dto, now),
      nextRunAt: null,
    };
    applyFirstState(draft, [], now);
    return draft;
  }
}
