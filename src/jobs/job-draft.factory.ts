import { Injectable } from '@nestjs/common';
import { uuidv7 } from '../common/uuid-v7.js';
import { InvalidInputError } from '../common/errors/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import type { JobFieldsDto } from './dto/submit-job.dto.js';
import type { NewJob } from './job.repository.js';
import { JobTypeCatalog } from './job-type-catalog.js';

/**
 * Turns a submitted job into a row to insert: checks what the DTO's decorators cannot (type,
 * payload, limits) and applies every default (DESIGN §2). `at` prefixes messages (`jobs[3]: `).
 */
@Injectable()
export class JobDraftFactory {
  constructor(
    private readonly config: AppConfig,
    private readonly catalog: JobTypeCatalog,
  ) {}

  draft(dto: JobFieldsDto, dependencyCount: number, at = ''): NewJob {
    const payload = dto.payload ?? {};
    try {
      this.catalog.validatePayload(dto.type, payload);
    } catch (error) {
      if (!at || !(error instanceof InvalidInputError || (error as Error).name === 'UnknownJobTypeError')) throw error;
      const e = error as InvalidInputError;
      throw new InvalidInputError(`${at}${e.message}`, { messages: e.messages?.map((m) => `${at}${m}`) });
    }
    const cpuUnits = dto.resource_requirements?.cpu_units ?? 1;
    const memoryMb = dto.resource_requirements?.memory_mb ?? 128;
    const over: string[] = [];
    if (cpuUnits > this.config.maxCpuUnits) {
      over.push(`${at}resource_requirements.cpu_units ${cpuUnits} exceeds MAX_CPU_UNITS ${this.config.maxCpuUnits}`);
    }
    if (memoryMb > this.config.maxMemoryMb) {
      over.push(`${at}resource_requirements.memory_mb ${memoryMb} exceeds MAX_MEMORY_MB ${this.config.maxMemoryMb}`);
    }
    if (over.length > 0) {
      throw new InvalidInputError(`the job can never run: ${over.join('; ')} (no worker can be that large)`, { messages: over });
    }
    if (dependencyCount > this.config.maxDependenciesPerJob) {
      throw new InvalidInputError(
        `${at}depends_on lists ${dependencyCount} jobs; at most ${this.config.maxDependenciesPerJob} are allowed (MAX_DEPENDENCIES_PER_JOB)`,
      );
    }
    const retry = this.config.retry;
    const initialDelayMs = dto.retry_config?.initial_delay_ms ?? retry.initialDelayMs;
    const maxDelayMs = dto.retry_config?.max_delay_ms ?? Math.max(retry.maxDelayMs, initialDelayMs);
    if (maxDelayMs < initialDelayMs) {
      throw new InvalidInputError(`${at}retry_config.max_delay_ms (${maxDelayMs}) must be at least initial_delay_ms (${initialDelayMs})`);
    }
    return {
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
      ref: null,
      pendingDependencies: 0,
      error: null,
      waitingReason: null,
      completedAt: null,
    };
  }
}
