import { storableText } from '../common/json-limits.js';
import { HANDLER_ERROR } from '../jobs/domain/error-codes.js';
import { isNonRetryable } from './job-handler.decorator.js';

/**
 * `value` as text PostgreSQL can store: String() of anything (a BigInt, a symbol, an object whose
 * toString throws gives `fallback`), without NUL or lone surrogates, at most `max` characters. A
 * handler's error is the handler's own object: any of its fields may be anything.
 */
function storable(value: unknown, max: number, fallback = ''): string {
  try {
    return storableText(String(value), max);
  } catch {
    return fallback;
  }
}

/** `object[key]`, or undefined when reading it throws (a getter of the handler's). */
function read(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** A handler's error as stored in the job (DESIGN §2: code HANDLER_ERROR), without a stack. Every field is plain, storable text. */
export function describeError(error: unknown): { code: string; message: string; [extra: string]: unknown } {
  if (error instanceof Error) {
    const code = read(error, 'code');
    const name = storable(read(error, 'name'), 200, 'Error');
    return {
      code: HANDLER_ERROR,
      message: storable(read(error, 'message'), 2000) || name,
      name,
      ...(typeof code === 'string' || typeof code === 'number' ? { cause_code: storable(code, 2000) } : {}),
      ...(isNonRetryable(error) ? { retryable: false } : {}),
    };
  }
  return { code: HANDLER_ERROR, message: storable(error, 2000, 'the handler threw a value that cannot be shown as text') };
}
