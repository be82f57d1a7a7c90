import { Injectable, Logger } from '@nestjs/common';
import { QUEUE_NOT_FOUND } from '../common/domain/error-codes.js';
import { DomainError, ValidationFailedError } from '../common/errors/domain-error.js';
import { JobEventBus } from '../events/job-event-bus.js';
import { JobTypeCatalog } from '../jobs/job-type-catalog.js';
import type { UpdateQueueDto } from './dto/queue.dto.js';
import { QueueSettingsRepository, type QueueSettings, type QueueSettingsPatch, type StatusCounts } from './queue-settings.repository.js';

export class QueueNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = QUEUE_NOT_FOUND;
  constructor(type: string, known: readonly string[]) {
    super(`no queue ${type.slice(0, 200)}: a queue is a registered job type (${known.join(', ')})`);
  }
}

export interface QueueView {
  settings: QueueSettings;
  counts: StatusCounts | undefined;
  oldestReadyAt: Date | undefined;
}

const noRules = (type: string): QueueSettings => ({ type, paused: false, concurrencyLimit: null, keyConcurrencyLimit: null, rateLimit: null, updatedAt: null });

/**
 * Queues (DESIGN §12): one per registered job type, with its settings, counts and oldest ready job.
 * A change is stored, then signalled to the leader, which applies it at once.
 */
@Injectable()
export class QueuesService {
  private readonly logger = new Logger(QueuesService.name);

  constructor(
    private readonly repository: QueueSettingsRepository,
    private readonly catalog: JobTypeCatalog,
    private readonly bus: JobEventBus,
  ) {}

  async list(): Promise<QueueView[]> {
    const types = this.catalog.types();
    const [stored, counts, oldest] = await Promise.all([this.repository.all(), this.repository.counts(types), this.repository.oldestReady(types)]);
    const byType = new Map(stored.map((s) => [s.type, s]));
    return types.map((type) => ({ settings: byType.get(type) ?? noRules(type), counts: counts.get(type), oldestReadyAt: oldest.get(type) }));
  }

  async get(type: string): Promise<QueueView> {
    this.checkType(type);
    const [stored, counts, oldest] = await Promise.all([this.repository.find(type), this.repository.counts([type]), this.repository.oldestReady([type])]);
    return { settings: stored ?? noRules(type), counts: counts.get(type), oldestReadyAt: oldest.get(type) };
  }

  /** `actor`: who changed them (an API key's name), in the log line. */
  async update(type: string, dto: UpdateQueueDto, actor: string | null = null): Promise<QueueView> {
    this.checkType(type);
    const patch: QueueSettingsPatch = {};
    if (dto.paused !== undefined) patch.paused = dto.paused;
    if (dto.concurrency_limit !== undefined) patch.concurrencyLimit = dto.concurrency_limit;
    if (dto.key_concurrency_limit !== undefined) patch.keyConcurrencyLimit = dto.key_concurrency_limit;
    if (dto.rate_limit !== undefined) patch.rateLimit = dto.rate_limit === null ? null : { limit: dto.rate_limit.limit, intervalMs: dto.rate_limit.interval_ms };
    if (Object.keys(patch).length === 0) {
      throw new ValidationFailedError([{ field: 'body', message: 'give at least one of paused, concurrency_limit, key_concurrency_limit, rate_limit' }]);
    }
    await this.repository.update(type, patch);
    // The leader reloads on this signal; its sweep reloads every second too, so a lost signal only delays.
    await this.bus.signal({ kind: 'queues_changed', type }).catch((error: unknown) => this.logger.warn({ err: error, type }, 'could not signal a queue change; the scheduler sees it on its next sweep'));
    this.logger.log({ type, change: dto, actor }, 'queue settings changed');
    return this.get(type);
  }

  /** The settings of every queue that has any, for the scheduler. */
  settings(): Promise<QueueSettings[]> {
    return this.repository.all();
  }

  /** Folds the counters' deltas (the leader, every second). */
  foldCounts(): Promise<number> {
    return this.repository.fold();
  }

  /** Compares the counters with the jobs table; `repair` rewrites them. */
  checkCounts(repair: boolean) {
    return this.repository.check(repair);
  }

  totals(): Promise<StatusCounts> {
    return this.repository.totals();
  }

  private checkType(type: string): void {
    if (!this.catalog.has(type)) throw new QueueNotFoundError(type, this.catalog.types());
  }
}
