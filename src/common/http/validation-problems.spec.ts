import { describe, expect, it } from '@jest/globals';
import { IsString, Length, Matches, validateSync } from 'class-validator';
import { fieldPath, suggestField, validationProblems } from './validation-problems.js';

class Named {
  @IsString() @Length(1, 100) @Matches(/^[a-z]+$/)
  type!: string;
}

const problemsOf = (value: unknown) =>
  validationProblems(validateSync(Object.assign(new Named(), { type: value })), () => ['type']);

const JOB = ['type', 'priority', 'payload', 'resource_requirements', 'retry_config', 'timeout_seconds', 'idempotency_key', 'depends_on'];

describe(suggestField.name, () => {
  it.each([
    ['timeout', JOB, 'timeout_seconds'],
    ['dependsOn', JOB, 'depends_on'],
    ['IdempotencyKey', JOB, 'idempotency_key'],
    ['prority', JOB, 'priority'],
    ['typ', JOB, 'type'],
    ['retry', JOB, 'retry_config'],
    ['max_attempt', ['max_attempts', 'backoff_multiplier'], 'max_attempts'],
    ['colour', JOB, null],
    ['', JOB, null],
    ['x', JOB, null],
    ['re', ['retry_config', 'resource_requirements'], null],
  ])('%s -> %s', (unknown, known, expected) => {
    expect(suggestField(unknown, known)).toBe(expected);
  });
});

describe(fieldPath.name, () => {
  it.each([
    ['', 'type', 'type'],
    ['jobs', '3', 'jobs[3]'],
    ['jobs[3]', 'payload', 'jobs[3].payload'],
    ['payload', undefined, 'payload'],
  ])('%s + %s -> %s', (parent, property, path) => {
    expect(fieldPath(parent, property)).toBe(path);
  });
});

describe(validationProblems.name, () => {
  it.each([
    ['missing', undefined, 'type is required'],
    ['null', null, 'type is required'],
    ['empty', '', 'type must not be empty'],
    ['of the wrong type', 5, 'type must be a string'],
  ])('says once what is wrong with a field that is %s', (_case, value, message) => {
    expect(problemsOf(value)).toEqual([{ field: 'type', message }]);
  });

  it('keeps each message of a value that fails several checks for different reasons', () => {
    expect(problemsOf('x'.repeat(101) + '!').map((p) => p.message)).toHaveLength(2);
  });
});
