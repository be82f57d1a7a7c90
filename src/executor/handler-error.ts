import { storableText } from '../common/json-limits.js';
import { HANDLER_ERROR } from '../jobs/domain/error-codes.js';
import { isNonRetryable } from './job-handler.decorator.js';

/** A handler's error as stored in the job (DESIGN §2: code HANDLER_ERROR), without a stack. */
export function describeError(error: unknown): { code: string; message: string; [extra: string]: unknown } {
  const clean = (text: string) => storableText(text, 2000);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      code: HANDLER_ERROR,
      message: clean(error.message) || error.name,
      name: error.name,
      ...(typeof code === 'string' || typeof code === 'number' ? { cause_code: clean(String(code)) } : {}),
      ...(isNonRetryable(error) ? { retryable: false } : {}),
    };
  }
  return { code: HANDLER_ERROR, message: clean(String(error)) };
}
