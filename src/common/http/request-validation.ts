/// <reference path="./class-transformer-storage.d.ts" />
/** Request DTO validation: the global pipe, and the same check for code that validates items itself (batches). */
import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { plainToInstance, TransformationType } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import { getMetadataStorage, validateSync, type ValidatorOptions } from 'class-validator';
import { EMPTY_BODY } from '../domain/error-codes.js';
import { MalformedBodyError, ValidationFailedError, type FieldProblem } from '../errors/domain-error.js';
import { EMPTY_BODY_MESSAGE } from './json-body-parser.js';
import { findJsonProblem, MAX_BODY_DEPTH } from '../json-limits.js';
import { unknownFieldProblem, validationProblems } from './validation-problems.js';

type Dto = new () => object;

export const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  stopAtFirstError: false,
};

const UNTRANSFORMED = Symbol('draconic.untransformed');

/**
 * Marks a free-form JSON property (a payload, a batch's job list) that class-transformer must not
 * walk: copying every node of a 100,000-element array costs tens of milliseconds of event loop for
 * nothing. The value is validated as given by the property's own decorators (e.g. `@IsObject()`).
 */
export function Untransformed(): PropertyDecorator {
  return (target, property) => {
    const owner = target.constructor as Dto & { [UNTRANSFORMED]?: string[] };
    owner[UNTRANSFORMED] = [...(owner[UNTRANSFORMED] ?? []), String(property)];
  };
}

const untransformedOf = (dto: Dto): readonly string[] => (dto as { [UNTRANSFORMED]?: string[] })[UNTRANSFORMED] ?? [];

const knownCache = new WeakMap<Function, readonly string[]>();
/** The properties a class declares validation for: the fields a client may send. */
export function knownFields(dto: Function | undefined): readonly string[] {
  if (typeof dto !== 'function') return [];
  let known = knownCache.get(dto);
  if (!known) {
    known = [...new Set(getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false).map((m) => m.propertyName))];
    knownCache.set(dto, known);
  }
  return known;
}

const transformedCache = new WeakMap<Function, ReadonlySet<string>>();
/**
 * The fields of a class that class-transformer does more with than copy the value: a nested type
 * (`@Type`), a transform, an expose or exclude rule. A body with none of them can skip its walk.
 */
function transformedFields(dto: Dto): ReadonlySet<string> {
  let fields = transformedCache.get(dto);
  if (!fields) {
    const m = defaultMetadataStorage;
    fields = new Set(
      knownFields(dto).filter(
        (key) =>
          m.findTypeMetadata(dto, key) !== undefined ||
          m.findTransformMetadatas(dto, key, TransformationType.PLAIN_TO_CLASS).length > 0 ||
          m.findExposeMetadata(dto, key) !== undefined ||
          m.findExcludeMetadata(dto, key) !== undefined,
      ),
    );
    transformedCache.set(dto, fields);
  }
  return fields;
}

const knownFieldsOfTarget = (target: object | undefined) => knownFields(target?.constructor);

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The path of a nested object with its own `constructor` key, or null. class-transformer reads
 * `value.constructor` of every object it walks and fails on such a key (a TypeError, so a 500):
 * no DTO declares such a field, so it is refused as unknown before any walk.
 */
function constructorKeyIn(value: Record<string, unknown>, at: string): string | null {
  // Only nested objects are stacked (and their paths built): a body of scalar fields allocates nothing.
  const stack: Array<[object, string]> = [];
  const pushObjects = (node: object, path: (key: string) => string) => {
    for (const key of Object.keys(node)) {
      const child = (node as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push([child, path(key)]);
    }
  };
  pushObjects(value, (k) => (at ? `${at}.${k}` : k));
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (Object.hasOwn(node, 'constructor')) return `${path}.constructor`;
    pushObjects(node, Array.isArray(node) ? (k) => `${path}[${k}]` : (k) => `${path}.${k}`);
  }
  return null;
}

const unknownKeys = (value: Record<string, unknown>, known: readonly string[]): string[] => Object.keys(value).filter((key) => !known.includes(key));

/** A copy of `value` with only `keys` (a DTO's few fields): neither deleting nor walking thousands of unknown keys. */
function onlyKeys(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(value, key)) copy[key] = value[key];
  return copy;
}

/** Problems past this many are only counted in the answer (ValidationFailedError): they get no "did you mean" hint, which costs. */
const HINTED_PROBLEMS = 100;

/** One problem per unknown key; only the first ones get a hint, so 60,000 unknown keys cost no 60,000 edit distances. */
function pushUnknownProblems(problems: FieldProblem[], unknown: readonly string[], at: string, known: readonly string[]): void {
  for (const key of unknown) {
    const field = at ? `${at}.${key}` : key;
    problems.push(problems.length < HINTED_PROBLEMS ? unknownFieldProblem(field, key, known) : { field, message: `property ${field} should not exist` });
  }
}

/** The DTO class a field nests (`@Type(() => RetryConfigDto)`), or null. */
function nestedDtoOf(dto: Dto, key: string): Dto | null {
  const type = defaultMetadataStorage.findTypeMetadata(dto, key)?.typeFunction() as Dto | undefined;
  return typeof type === 'function' && knownFields(type).length > 0 ? type : null;
}

/**
 * `source` with the unknown keys of its nested DTO objects (`retry_config`, a bulk `filter`, ...)
 * reported as problems and left out, before class-transformer walks them: it dedupes an object's keys
 * in quadratic time, so 60,000 unknown keys in one nested object held the event loop for seconds.
 */
function withoutNestedUnknowns(dto: Dto, source: Record<string, unknown>, at: string, problems: FieldProblem[]): Record<string, unknown> {
  let result = source;
  for (const key of transformedFields(dto)) {
    const value = source[key];
    if (!isJsonObject(value)) continue;
    const nested = nestedDtoOf(dto, key);
    if (!nested) continue;
    const path = at ? `${at}.${key}` : key;
    const known = knownFields(nested);
    const unknown = unknownKeys(value, known);
    let pruned = unknown.length > 0 ? onlyKeys(value, known) : value;
    pushUnknownProblems(problems, unknown, path, known);
    pruned = withoutNestedUnknowns(nested, pruned, path, problems);
    if (pruned !== value) {
      if (result === source) result = { ...source };
      result[key] = pruned;
    }
  }
  return result;
}

/**
 * Validates a plain JSON object against a DTO class and returns the instance, or every problem
 * (paths under `at`, e.g. `jobs[3]`). Unknown fields are reported before anything is built, so a
 * key such as `constructor` never lands on the instance. `shallow`: copy the fields onto the
 * instance as they are (for classes without nested DTOs or transforms, such as payload classes).
 */
export function toValidatedDto<T extends object>(
  dto: new () => T,
  plain: unknown,
  at = '',
  { shallow = false } = {},
): { dto: T } | { problems: FieldProblem[] } {
  if (!isJsonObject(plain)) {
    const what = at || 'the request body';
    return { problems: [{ field: at || 'body', message: `${what} must be a JSON object (sent with Content-Type: application/json)` }] };
  }
  const known = knownFields(dto);
  const untransformed = untransformedOf(dto);
  const unknown = unknownKeys(plain, known);
  const problems: FieldProblem[] = [];
  pushUnknownProblems(problems, unknown, at, known);
  let source: Record<string, unknown> = plain;
  // A copy without the unknown and the untransformed fields, when the body has any of them.
  if (unknown.length > 0 || (!shallow && untransformed.some((key) => Object.hasOwn(plain, key)))) {
    source = onlyKeys(plain, known.filter((key) => !untransformed.includes(key)));
  }
  if (!shallow) {
    source = withoutNestedUnknowns(dto, source, at, problems);
    const bad = constructorKeyIn(source, at);
    if (bad) return { problems: [...problems, { field: bad, message: `property ${bad} should not exist` }] };
  }
  // Fields without transform metadata are only copied by class-transformer (plain objects and arrays
  // into fresh ones, which validation reads the same): a body made only of such fields is assigned as it is.
  const transformed = shallow ? null : transformedFields(dto);
  const plainOnly = shallow || (transformed!.size === 0 || !Object.keys(source).some((key) => transformed!.has(key)));
  const instance: T = plainOnly ? Object.assign(new dto(), source) : plainToInstance(dto, source);
  for (const key of untransformed) if (Object.hasOwn(plain, key)) (instance as Record<string, unknown>)[key] = plain[key];
  const errors = validateSync(instance, VALIDATOR_OPTIONS);
  problems.push(...validationProblems(errors, knownFieldsOfTarget, at));
  if (problems.length > 0) return { problems };
  return { dto: instance };
}

/** The code every problem names (e.g. INVALID_CURSOR), else VALIDATION_FAILED. */
function sharedCode(problems: readonly FieldProblem[]): string | undefined {
  const code = problems[0]?.code;
  return code && problems.every((p) => p.code === code) ? code : undefined;
}

const PRIMITIVES = new Set<Function>([String, Boolean, Number, Array, Object]);

/**
 * The global pipe in place of Nest's ValidationPipe: the same checks (whitelist, forbidden unknown
 * fields, transform), but the 400 carries `code: VALIDATION_FAILED` and `details: [{field, message}]`,
 * one message per field, and free-form JSON is not walked (see Untransformed).
 */
@Injectable()
export class RequestValidationPipe implements PipeTransform {
  transform(value: unknown, { metatype, type }: ArgumentMetadata): unknown {
    if (!metatype || PRIMITIVES.has(metatype) || knownFields(metatype).length === 0) return value;
    if (type === 'body' && value === undefined) throw new MalformedBodyError(EMPTY_BODY, EMPTY_BODY_MESSAGE);
    if (type === 'query') {
      // A query string is decoded text (`%00` is a NUL): held to what PostgreSQL can store, as a JSON body is.
      const problem = findJsonProblem(value, MAX_BODY_DEPTH);
      if (problem) throw new ValidationFailedError([problem], problem.code);
    }
    const result = toValidatedDto(metatype as Dto, type === 'query' ? (value ?? {}) : value);
    if ('problems' in result) throw new ValidationFailedError(result.problems, sharedCode(result.problems));
    return result.dto;
  }
}
