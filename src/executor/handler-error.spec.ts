import { describe, expect, it } from '@jest/globals';
import { describeError } from './handler-error.js';

/** An error whose `name` the handler set to something PostgreSQL or JSON cannot take. */
const named = (name: unknown) => Object.assign(new Error('boom'), { name });

describe(describeError.name, () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;

  it.each([
    ['a BigInt', 10n, '10'],
    ['a NUL', 'a\u0000b', 'ab'],
    ['a lone surrogate', 'x\uD800', 'x\uFFFD'],
    ['a circular object', circular, '[object Object]'],
    ['an object whose toString throws', { toString: () => { throw new Error('no'); } }, 'Error'],
  ])('stores a name that is %s as plain text', (_what, name, stored) => {
    const described = describeError(named(name));
    expect(described).toMatchObject({ code: 'HANDLER_ERROR', message: 'boom', name: stored });
    expect(() => JSON.stringify(described)).not.toThrow();
  });

  it('cleans the message and cause code as well', () => {
    const error = Object.assign(new Error('bad\u0000news'), { code: 'E\u0000X' });
    expect(describeError(error)).toMatchObject({ message: 'badnews', cause_code: 'EX', name: 'Error' });
  });

  it('describes a thrown value that is not an Error', () => {
    expect(describeError(Symbol('odd'))).toEqual({ code: 'HANDLER_ERROR', message: 'Symbol(odd)' });
    expect(describeError(Object.create(null))).toEqual({ code: 'HANDLER_ERROR', message: 'the handler threw a value that cannot be shown as text' });
  });
});
