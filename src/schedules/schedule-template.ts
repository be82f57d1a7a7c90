import { Injectable } from '@nestjs/common';
import { ValidationFailedError } from '../common/errors/domain-error.js';
import { toValidatedDto } from '../common/http/request-validation.js';
import { JobDraftFactory } from '../jobs/job-draft.factory.js';
import type { NewJob } from '../jobs/new-job.js';
import { uuidv7 } from '../common/uuid-v7.js';
import { ScheduleJobTemplateDto } from './dto/schedule.dto.js';

/** Schedules whose checked template is kept. */
const CACHE_LIMIT = 100_000;

/**
 * A schedule's job template (DESIGN §11), checked by the code that checks POST /jobs: the same DTO
 * validation (unknown fields, types, ranges) and the same draft factory (registered type, payload
 * schema, worker limits, defaults). Field names are reported under `job.`.
 */
@Injectable()
export class ScheduleTemplate {
  private readonly checked = new Map<string, { version: string; draft: NewJob }>();

  constructor(private readonly drafts: JobDraftFactory) {}

  /** Throws a ValidationFailedError (or UnknownJobTypeError) naming the field; returns the template as given. */
  check(template: unknown): Record<string, unknown> {
    this.draft(template, null, null);
    return template as Record<string, unknown>;
  }

  /**
   * The job a schedule's tick creates. The template is checked and its defaults applied once per
   * template text, not on every tick: configuration and job types are read at boot, so a stored
   * template's check cannot change while the process runs. Keyed by the text, not by the schedule's
   * updated_at, which every fire moves.
   */
  draftFor(schedule: { id: string; job: Record<string, unknown> }, tick: Date): NewJob {
    const version = JSON.stringify(schedule.job);
    let cached = this.checked.get(schedule.id);
    if (!cached || cached.version !== version) {
      if (this.checked.size >= CACHE_LIMIT) this.checked.clear();
      cached = { version, draft: this.draft(schedule.job, schedule.id, null) };
      this.checked.set(schedule.id, cached);
    }
    return { ...cached.draft, id: uuidv7(), scheduleId: schedule.id, scheduledFor: tick };
  }

  /** The job one tick creates: the template with every default applied, for `scheduleId` at `tick`. */
  draft(template: unknown, scheduleId: string | null, tick: Date | null): NewJob {
    const result = toValidatedDto(ScheduleJobTemplateDto, template, 'job');
    if ('problems' in result) throw new ValidationFailedError(result.problems);
    if (result.dto.idempotency_key !== undefined) {
      throw new ValidationFailedError([
        { field: 'job.idempotency_key', message: 'job.idempotency_key is not allowed in a schedule template: every tick creates a new job' },
      ]);
    }
    const draft = this.drafts.draft(result.dto, 0, 'job');
    draft.scheduleId = scheduleId;
    draft.scheduledFor = tick;
    return draft;
  }
}
