import { describe, expect, it } from '@jest/globals';
import { describeError } from './handler-error.js';
import { AddressNotAllowedError } from './handlers/fetch-policy.js';
import { resolveInside } from './handlers/file-paths.js';
import { isNonRetryable, NonRetryableError } from './non-retryable-error.js';

describe('non-retryable errors', () => {
  it.each([
    ['a NonRetryableError', new NonRetryableError('no'), true],
    ['a refused address', new AddressNotAllowedError('localhost', '127.0.0.1', 'loopback'), true],
    ['any object with retryable: false', Object.assign(new Error('x'), { retryable: false }), true],
    ['a plain Error', new Error('x'), false],
    ['an error with retryable: true', Object.assign(new Error('x'), { retryable: true }), false],
    ['a string', 'retryable: false', false],
    ['null', null, false],
  ])('%s -> %s', (_label, error, expected) => {
    expect(isNonRetryable(error)).toBe(expected);
  });

  it('puts retryable: false into the stored error, and nothing for other errors', () => {
    expect(describeError(new NonRetryableError('bad input'))).toEqual({ code: 'HANDLER_ERROR', message: 'bad input', name: 'NonRetryableError', retryable: false });
    expect(describeError(new Error('flaky'))).toEqual({ code: 'HANDLER_ERROR', message: 'flaky', name: 'Error' });
  });

  it('is what a refused file name throws', () => {
    expect(() => resolveInside('/tmp/out', '../etc/passwd')).toThrow(NonRetryableError);
  });
});
