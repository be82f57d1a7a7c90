import { SCHEDULE_NAME_TAKEN, SCHEDULE_NOT_FOUND, TICK_TAKEN } from '../common/domain/error-codes.js';
import { DomainError } from '../common/errors/domain-error.js';

export class ScheduleNotFoundError extends DomainError {
  readonly kind = 'not_found';
  readonly code = SCHEDULE_NOT_FOUND;
  constructor(key: string) {
    super(`schedule ${key.slice(0, 200)} not found (give its id or its name)`);
  }
}

export class ScheduleNameTakenError extends DomainError {
  readonly kind = 'conflict';
  readonly code = SCHEDULE_NAME_TAKEN;
  constructor(name: string) {
    super(`a schedule named "${name}" already exists: choose another name, or use PUT /schedules/${name} to replace it`, { details: { name } });
  }
}

export class TickTakenError extends DomainError {
  readonly kind = 'conflict';
  readonly code = TICK_TAKEN;
  constructor(name: string, at: Date) {
    super(`schedule "${name}" already has a job for ${at.toISOString()}; trigger again`);
  }
}
