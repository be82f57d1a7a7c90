/** The error kind of failures that retrying cannot fix (part of the handler contract; no dependencies). */

/**
 * Thrown by a handler for a failure that another attempt cannot fix (a refused address, an invalid
 * file name, input that will never parse): the job fails at once, whatever attempts it has left,
 * and its error carries `retryable: false`. Any error with `retryable === false` counts the same.
 */
export class NonRetryableError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** True for an error a handler marked as not worth retrying. */
export function isNonRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;
}
