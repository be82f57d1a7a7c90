import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ListJobsQueryDto } from '../../jobs/dto/list-jobs-query.dto.js';
import { SubmitJobDto } from '../../jobs/dto/submit-job.dto.js';
import { securityHeaders } from './http-protection.js';
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
  ];

  it.each(bodies)('gives what the full class-transformer walk gives for %j', (body) => {
    const got = toValidatedDto(SubmitJobDto, body);
    const expected = walked(SubmitJobDto, body);
    expect(got).toStrictEqual(expected);
    if ('dto' in got) expect(got.dto).toBeInstanceOf(SubmitJobDto);
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
