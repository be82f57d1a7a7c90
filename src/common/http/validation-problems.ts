/** Turns class-validator's errors into one readable problem per field, with a hint for a misspelt field name. */
import { getMetadataStorage, ValidationTypes, type ValidationError } from 'class-validator';
import type { FieldProblem } from '../errors/domain-error.js';
import { suggestField } from '../field-suggestion.js';

export { suggestField };

/** Constraints that check a value's type: when one fails, the others (range, length, pattern) say nothing new. */
const TYPE_CHECKS = new Set(['isString', 'isInt', 'isNumber', 'isBoolean', 'isObject', 'isArray', 'isDateString']);

const optionalCache = new WeakMap<Function, ReadonlySet<string>>();
/** Whether a class lets `property` be left out (an `Omittable` or `IsOptional` condition on it). */
function mayBeLeftOut(target: object | undefined, property: string): boolean {
  const type = target?.constructor;
  if (typeof type !== 'function') return false;
  let optional = optionalCache.get(type);
  if (!optional) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(type, '', true, false);
    optional = new Set(metadata.filter((m) => m.type === ValidationTypes.CONDITIONAL_VALIDATION).map((m) => m.propertyName));
    optionalCache.set(type, optional);
  }
  return optional.has(property);
}

/** `jobs` + `3` -> `jobs[3]`; `payload` + `url` -> `payload.url`. */
export function fieldPath(parent: string, property: string | number | undefined): string {
  if (property === undefined || property === '') return parent;
  if (typeof property === 'number' || /^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

export function unknownFieldProblem(field: string, property: string, known: readonly string[]): FieldProblem {
  const hint = suggestField(property, known);
  return { field, message: `property ${field} should not exist${hint ? `; did you mean "${hint}"?` : ''}` };
}

/** class-validator starts its messages with the bare property name: put the whole path there instead. */
function withPath(message: string, property: string, field: string): string {
  if (field === property) return message;
  if (message.startsWith(`${property} `)) return `${field}${message.slice(property.length)}`;
  return `${field}: ${message}`;
}

/**
 * One problem per failed field: "type is required" for a missing one (not every constraint it
 * fails), "must not be null" for a null where the field may only be left out, "must not be empty" for an empty string that fails several, only the type check for a value of the wrong type, every message otherwise; unknown
 * fields with a suggestion. `knownFieldsOf` lists the fields of the object an error belongs to.
 */
export function validationProblems(
  errors: readonly ValidationError[],
  knownFieldsOf: (target: object | undefined) => readonly string[],
  parent = '',
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const error of errors) {
    const field = fieldPath(parent, error.property) || 'body';
    const constraints = error.constraints ?? {};
    const names = Object.keys(constraints);
    if (names.includes('whitelistValidation')) {
      problems.push(unknownFieldProblem(field, error.property, knownFieldsOf(error.target)));
    } else if (names.includes('unknownValue')) {
      problems.push({ field, message: `${field} must be an object with known fields only` });
    } else if (names.length > 0 && error.value === null && mayBeLeftOut(error.target, error.property)) {
      problems.push({ field, message: `${field} must not be null: leave it out, or give a value` });
    } else if (names.length > 0 && (error.value === undefined || error.value === null)) {
      problems.push({ field, message: `${field} is required` });
    } else if (names.length > 1 && error.value === '') {
      // An empty string fails its length and its pattern alike: one message says it all.
      problems.push({ field, message: `${field} must not be empty` });
    } else if (names.length > 0) {
      const typeCheck = names.find((n) => TYPE_CHECKS.has(n));
      for (const name of typeCheck ? [typeCheck] : names) {
        const code = (error.contexts?.[name] as { code?: string } | undefined)?.code;
        problems.push({ field, message: withPath(constraints[name]!, error.property, field), ...(code ? { code } : {}) });
      }
    }
    if (error.children?.length) problems.push(...validationProblems(error.children, knownFieldsOf, field));
  }
  return problems;
}
