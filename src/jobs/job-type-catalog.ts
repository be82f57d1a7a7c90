import { Injectable } from '@nestjs/common';
import { VALIDATION_FAILED } from '../common/domain/error-codes.js';
import { UnknownJobTypeError, ValidationFailedError, type FieldProblem } from '../common/errors/domain-error.js';
import { toValidatedDto } from '../common/http/request-validation.js';
import { JobTypeNames } from '../events/job-type-names.js';

export type PayloadClass = new () => object;

/** A problem a handler finds in a payload beyond its class's decorators, `field` relative to the payload (`url`). */
export interface PayloadProblem extends FieldProblem {
  /** The error code of the 400 (default VALIDATION_FAILED), e.g. ADDRESS_NOT_ALLOWED. */
  code?: string;
}

/** A submit-time check of a payload that needs more than decorators (e.g. the service's configuration). */
export type PayloadCheck = (payload: Record<string, unknown>) => PayloadProblem[];

/**
 * The job types the service knows, with each type's payload class. A passive slot in JobsModule
 * that the executor's handler registry fills at boot, so jobs never imports executor.
 */
@Injectable()
export class JobTypeCatalog extends JobTypeNames {
  private readonly payloadTypes = new Map<string, { payloadType?: PayloadClass; check?: PayloadCheck }>();

  register(type: string, payloadType: PayloadClass | undefined, check?: PayloadCheck): void {
    if (this.payloadTypes.has(type)) throw new Error(`job type "${type}" is registered twice`);
    this.payloadTypes.set(type, { payloadType, check });
  }

  types(): string[] {
    return [...this.payloadTypes.keys()].sort();
  }

  /** Every registered type with its payload class (for the OpenAPI document), by type name. */
  entries(): Array<{ type: string; payloadType?: PayloadClass }> {
    return this.types().map((type) => ({ type, payloadType: this.payloadTypes.get(type)!.payloadType }));
  }

  has(type: string): boolean {
    return this.payloadTypes.has(type);
  }

  /** Payloads (small ones, by type and JSON text) already found valid: batches often repeat one payload. */
  private readonly valid = new Set<string>();

  /**
   * Validates a payload against its type's class and check; throws a 400-kind error listing every
   * problem, each with its field (`path` = where the payload sits in the request).
   */
  validatePayload(type: string, payload: Record<string, unknown>, path = 'payload'): void {
    const entry = this.payloadTypes.get(type);
    if (!entry) throw new UnknownJobTypeError(type, this.types());
    if (!entry.payloadType && !entry.check) return;
    const text = JSON.stringify(payload);
    const key = text.length <= 1024 ? `${type}\u0000${text}` : null;
    if (key !== null && this.valid.has(key)) return;
    this.check(entry.payloadType, entry.check, payload, path);
    if (key !== null) {
      if (this.valid.size >= 10_000) this.valid.clear();
      this.valid.add(key);
    }
  }

  private check(payloadType: PayloadClass | undefined, check: PayloadCheck | undefined, payload: Record<string, unknown>, path: string): void {
    // Payload classes declare no nested types: a shallow instance is all class-validator needs, and
    // nothing walks (copies) a large payload.
    const result = payloadType ? toValidatedDto(payloadType, payload, path, { shallow: true }) : null;
    const problems: FieldProblem[] = result && 'problems' in result ? result.problems : [];
    // The handler's check runs even when the class found problems: its finding (e.g. a refused
    // address) is usually the more useful one, and its code names it.
    const found = check?.(payload) ?? [];
    problems.push(...found.map((p) => ({ field: `${path}.${p.field}`, message: `${path}.${p.field}: ${p.message}` })));
    if (problems.length > 0) throw new ValidationFailedError(problems, found[0]?.code ?? VALIDATION_FAILED);
  }
}
