import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { InvalidInputError, UnknownJobTypeError } from '../common/errors/domain-error.js';

export type PayloadClass = new () => object;

/** Flattens nested class-validator errors into "payload.a.b must ..." messages. */
export function flattenValidationErrors(errors: ValidationError[], path: string): string[] {
  const out: string[] = [];
  for (const error of errors) {
    const here = path ? `${path}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      // class-validator starts messages with the bare property name: replace it by the full path.
      out.push(message.startsWith(error.property) ? `${here}${message.slice(error.property.length)}` : `${here}: ${message}`);
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, here));
  }
  return out;
}

/**
 * The job types the service knows, with each type's payload class. A passive slot in JobsModule
 * that the executor's handler registry fills at boot, so jobs never imports executor.
 */
@Injectable()
export class JobTypeCatalog {
  private readonly payloadTypes = new Map<string, PayloadClass | undefined>();

  register(type: string, payloadType: PayloadClass | undefined): void {
    if (this.payloadTypes.has(type)) throw new Error(`job type "${type}" is registered twice`);
    this.payloadTypes.set(type, payloadType);
  }

  types(): string[] {
    return [...this.payloadTypes.keys()].sort();
  }

  has(type: string): boolean {
    return this.payloadTypes.has(type);
  }

  /** Payloads (small ones, by type and JSON text) already found valid: batches often repeat one payload. */
  private readonly valid = new Set<string>();

  /** Validates a payload against its type's class; throws a 400-kind error listing every problem. */
  validatePayload(type: string, payload: Record<string, unknown>): void {
    if (!this.payloadTypes.has(type)) throw new UnknownJobTypeError(type, this.types());
    const payloadType = this.payloadTypes.get(type);
    if (!payloadType) return;
    const text = JSON.stringify(payload);
    const key = text.length <= 1024 ? `${type}\u0000${text}` : null;
    if (key !== null && this.valid.has(key)) return;
    this.check(type, payloadType, payload);
    if (key !== null) {
      if (this.valid.size >= 10_000) this.valid.clear();
      this.valid.add(key);
    }
  }

  private check(type: string, payloadType: PayloadClass, payload: Record<string, unknown>): void {
    const instance = plainToInstance(payloadType, payload);
    const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
    if (errors.length > 0) {
      const messages = flattenValidationErrors(errors, 'payload');
      throw new InvalidInputError(`invalid payload for job type "${type}": ${messages.join('; ')}`, { messages });
    }
  }
}
