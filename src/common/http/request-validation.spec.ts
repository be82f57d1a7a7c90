import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ListJobsQueryDto } from '../../jobs/dto/list-jobs-query.dto.js';
import { SubmitJobDto } from '../../jobs/dto/submit-job.dto.js';
import { securityHeaders } from './security-headers.js';
import { toValidatedDto, VALIDATOR_OPTIONS } from './request-validation.js';
import { validationProblems } from './validation-problems.js';
import { knownFields } from './request-validation.js';

/** What the validation gives when class-transformer walks the whole body (no shortcut). */
function walked(dto: new () => object, plain: Record<string, unknown>) {
  const instance = plainToInstance(dto, plain);
  const problems = validationProblems(validateSync(instance, VALIDATOR_OPTIONS), (t) => knownFields(t?.constructor), '');
  return problems.length > 0 ? { problems } : { dto: instance };
}

describe('toValidatedDto', () => {
  const bodies: Array<Record<string, unknown>> = [
    { type: 'noop' },
    { type: 'noop', priority: 'urgent', timeout_seconds: 0 },
    { type: 'Noop', depends_on: ['not-a-uuid', 3] },
    { type: 'noop', depends_on: { a: 1 }, idempotency_key: '' },
    { type: 'noop', payload: { nested: [1, { a: 2 }] }, concurrency_key: 'k' },
    { type: 'noop', retry_config: { max_attempts: 0 }, resource_requirements: { cpu_units: 2 } },
    { type: 'noop', retry_config: [1], resource_requirements: 'x' },
    { type: 'noop', run_at: '2030-01-15T09:00:00', delay_ms: 5 },
    { type: 'noop', retry_config: { max_attempt: 2, bogus: 1 }, resource_requirements: { cpu: 1, memory_mb: 2 } },
    { type: 'noop', retry_config: { max_attempts: 0, extra: true }, priority: 'urgent' },
  ];

  // The same problems; unknown keys (nested ones too) are listed first.
  const byField = (result: ReturnType<typeof walked>) =>
    'problems' in result && result.problems ? { problems: [...result.problems].sort((a, b) => a.field.localeCompare(b.field)) } : result;

  it.each(bodies)('gives what the full class-transformer walk gives for %j', (body) => {
    const got = toValidatedDto(SubmitJobDto, body);
    const expected = walked(SubmitJobDto, body);
    expect(byField(got)).toStrictEqual(byField(expected));
    if ('dto' in got) expect(got.dto).toBeInstanceOf(SubmitJobDto);
  });

  it('reports the unknown keys of a nested object as it does those of the body, hinting the first 100 only', () => {
    const body: Record<string, unknown> = { type: 'noop', retry_config: { max_attempts: 2, max_attempt: 3 } };
    for (let i = 0; i < 150; i++) body[`priority${i}`] = i;
    const got = toValidatedDto(SubmitJobDto, body);
    const problems = 'problems' in got ? got.problems : [];
    expect(problems).toHaveLength(151);
    expect(problems[0]).toEqual({ field: 'priority0', message: 'property priority0 should not exist; did you mean "priority"?' });
    // Past the hundredth a problem is only counted in the answer: it is built without the costly hint.
    expect(problems[120]).toEqual({ field: 'priority120', message: 'property priority120 should not exist' });
    expect(problems[150]).toEqual({ field: 'retry_config.max_attempt', message: 'property retry_config.max_attempt should not exist' });
  });

  it('still runs the transforms of a field that has them', () => {
    const got = toValidatedDto(ListJobsQueryDto, { status: 'ready,running' });
    expect(got).toStrictEqual(walked(ListJobsQueryDto, { status: 'ready,running' }));
  });
});

describe('securityHeaders', () => {
  it('records helmet’s headers for the CSP, with fixed string values', () => {
    const { set } = securityHeaders();
    const names = set.map(([name]) => name.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['content-security-policy', 'x-content-type-options', 'strict-transport-security']));
    expect(new Map(set).get('Content-Security-Policy')).toContain("script-src 'self'");
  });
});
