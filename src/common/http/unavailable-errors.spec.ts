import { describe, expect, it } from '@jest/globals';
import { unavailableDependencyOf } from './unavailable-errors.js';

const withCode = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe(unavailableDependencyOf.name, () => {
  it('names PostgreSQL for refused, reset and terminated connections and an exhausted pool', () => {
    expect(unavailableDependencyOf(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe('database');
    expect(unavailableDependencyOf(withCode('read ECONNRESET', 'ECONNRESET'))).toBe('database');
    expect(unavailableDependencyOf(new Error('timeout exceeded when trying to connect'))).toBe('database');
    expect(unavailableDependencyOf(new Error('Connection terminated unexpectedly'))).toBe('database');
    expect(unavailableDependencyOf(withCode('terminating connection due to administrator command', '57P01'))).toBe('database');
    expect(unavailableDependencyOf(withCode('the database system is starting up', '57P03'))).toBe('database');
    expect(unavailableDependencyOf(withCode('sorry, too many clients already', '53300'))).toBe('database');
    expect(unavailableDependencyOf(withCode('canceling statement due to statement timeout', '57014'))).toBe('database');
    expect(unavailableDependencyOf(withCode('cannot execute UPDATE in a read-only transaction', '25006'))).toBe('database');
    expect(unavailableDependencyOf(withCode('out of memory', '53200'))).toBe('database');
    expect(unavailableDependencyOf(withCode('could not extend file: No space left on device', '53100'))).toBe('database');
    expect(unavailableDependencyOf(withCode('could not read block', '58030'))).toBe('database');
    expect(unavailableDependencyOf(Object.assign(withCode('could not create file "base/5/16384": Permission denied', '42501'), { file: 'md.c' }))).toBe('database');
    expect(unavailableDependencyOf(Object.assign(withCode('permission denied for table jobs', '42501'), { file: 'aclchk.c' }))).toBeNull();
    expect(unavailableDependencyOf(withCode('division by zero', '22012'))).toBeNull();
    expect(unavailableDependencyOf(withCode('database "draconic" is not currently accepting connections', '55000'))).toBe('database');
    expect(unavailableDependencyOf(withCode('cannot refresh materialized view concurrently', '55000'))).toBeNull();
    expect(unavailableDependencyOf({ message: 'query failed', driverError: withCode('connection failure', '08006') })).toBe('database');
  });

  it("names PostgreSQL for a transaction whose connection ended before COMMIT (TypeORM's runner released under it)", async () => {
    const { QueryRunnerAlreadyReleasedError } = await import('typeorm');
    expect(unavailableDependencyOf(new QueryRunnerAlreadyReleasedError())).toBe('database');
  });

  it('names Redis for a command given up after reconnecting or sent on a closed connection', () => {
    expect(unavailableDependencyOf(Object.assign(new Error('Reached the max retries per request limit (which is 3).'), { name: 'MaxRetriesPerRequestError' }))).toBe('redis');
    expect(unavailableDependencyOf(new Error('Connection is closed.'))).toBe('redis');
  });

  it('names nothing for errors of the statement itself or of the code', () => {
    expect(unavailableDependencyOf(withCode('duplicate key value violates unique constraint', '23505'))).toBeNull();
    expect(unavailableDependencyOf({ message: 'syntax error', driverError: withCode('syntax error at or near', '42601') })).toBeNull();
    expect(unavailableDependencyOf(new TypeError('undefined is not a function'))).toBeNull();
    expect(unavailableDependencyOf(null)).toBeNull();
    expect(unavailableDependencyOf('ECONNREFUSED')).toBeNull();
  });
});
