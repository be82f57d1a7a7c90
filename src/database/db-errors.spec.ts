import { describe, expect, it } from '@jest/globals';
import { isTransientDbError } from './db-errors.js';

describe(isTransientDbError.name, () => {
  it.each([
    ['terminating connection due to administrator command', { code: '57P01' }, true],
    ['idle-session timeout', { code: '57P05' }, true],
    ['connection failure', { code: '08006' }, true],
    ['too many connections', { code: '53300' }, true],
    ['serialization failure', { code: '40001' }, true],
    ['deadlock', { code: '40P01' }, true],
    ['driver: Connection terminated unexpectedly', new Error('Connection terminated unexpectedly'), true],
    ['node: ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    ['nothing at all', undefined, true],
    // A pooler that hands out server sessions per transaction: of the connection, not of the statement.
    ['prepared statement already exists', { code: '42P05' }, true],
    ['prepared statement does not exist', { code: '26000' }, true],
    // A data file the server may not use (its folder made read-only): the database's trouble, not the statement's.
    ['permission denied on a data file', { code: '42501', file: 'md.c', routine: 'mdcreate' }, true],
    ['permission denied on a table', { code: '42501', file: 'aclchk.c' }, false],
    ['unsupported Unicode escape (NUL in jsonb)', { code: '22P05' }, false],
    ['invalid text representation', { code: '22P02' }, false],
    ['unique violation', { code: '23505' }, false],
    ['undefined column', { code: '42703' }, false],
    ['raised by plpgsql', { code: 'P0001' }, false],
    // Thrown by JavaScript before anything was sent: the same parameters fail the same way every time.
    ['a BigInt parameter', new TypeError('Do not know how to serialize a BigInt'), false],
    ['a circular parameter', new TypeError('Converting circular structure to JSON'), false],
    ['a RangeError', new RangeError('Invalid string length'), false],
  ])('%s: transient %s', (_what, error, expected) => expect(isTransientDbError(error)).toBe(expected));
});
