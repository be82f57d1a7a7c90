import { describe, expect, it } from '@jest/globals';
import { fieldPath, suggestField } from './validation-problems.js';

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
