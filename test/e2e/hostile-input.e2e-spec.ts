import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('hostile_input'), { MAX_BATCH_JOBS: '1000' });
});

afterAll(async () => {
  await app?.close();
});

/** Rows a submit writes (log lines are left out: the jobs accepted here run, and log as they do). */
const countRows = async () => {
  const [row] = await app.app
    .get(DataSource)
    .query(`SELECT (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM job_dependencies)::int AS edges`);
  return row as { jobs: number; edges: number };
};

/** Nested arrays `depth` levels deep, as JSON text (built as text: a value that deep cannot be stringified). */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('requests that answered 5xx before', () => {
  it.each([
    ['a payload nested 10,000 levels deep', `{"type":"noop","payload":{"echo":{"a":${nested(10_000)}}}}`, 'NESTING_TOO_DEEP', /^payload\.echo\.a(\[0\])+$/],
    ['a payload nested 33 levels deep', `{"type":"noop","payload":{"echo":{"a":${nested(31)}}}}`, 'NESTING_TOO_DEEP', /^payload\.echo\.a(\[0\]){30}$/],
    ['a NUL in idempotency_key', '{"type":"noop","idempotency_key":"a\\u0000b"}', 'INVALID_TEXT', 'idempotency_key'],
    ['a NUL in a payload string', '{"type":"noop","payload":{"echo":{"text":"x\\u0000"}}}', 'INVALID_TEXT', 'payload.echo.text'],
    ['a NUL in a payload key', '{"type":"noop","payload":{"echo":{"a\\u0000":1}}}', 'INVALID_TEXT', 'payload.echo'],
    ['a lone surrogate in a payload string', '{"type":"noop","payload":{"echo":{"list":["ok","\\ud800"]}}}', 'INVALID_TEXT', 'payload.echo.list[1]'],
    ['a lone low surrogate in the type', '{"type":"\\udc00noop"}', 'INVALID_TEXT', 'type'],
    ['a number beyond a double in a payload', '{"type":"noop","payload":{"echo":{"records":[{"a":1e400}]}}}', 'NUMBER_OUT_OF_RANGE', 'payload.echo.records[0].a'],
    ['a run_at in year 0', '{"type":"noop","run_at":"0000-01-01T00:00:00Z"}', 'VALIDATION_FAILED', 'run_at'],
    ['a run_at an offset moves into year 0', '{"type":"noop","run_at":"0001-01-01T00:00:00+18:00"}', 'VALIDATION_FAILED', 'run_at'],
  ])('refuses %s with 400 naming the field, writing nothing', async (_case, body, code, field) => {
    const before = await countRows();
    const response = await app.request('POST', '/jobs', body, { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request', code });
    expect(response.body.details).toHaveLength(1);
    expect(response.body.details[0].field).toMatch(field);
    expect(await countRows()).toEqual(before);
  });

  it('refuses a body that is not UTF-8 with 400 INVALID_TEXT, writing nothing, and stores UTF-8 text as sent', async () => {
    const raw = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
    const notUtf8 = [
      raw('{"type":"noop","idempotency_key":"k-', [0xe9], '-1"}'), // a Latin-1 é
      raw('{"type":"noop","idempotency_key":"k-', [0xff], '-1"}'),
      raw('{"type":"noop","payload":{"echo":{"s":"', [0xed, 0xa0, 0x80], '"}}}'), // a lone surrogate's bytes
    ];
    for (const body of notUtf8) {
      const before = await countRows();
      const response = await fetch(`${app.baseUrl}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ statusCode: 400, code: 'INVALID_TEXT' });
      expect(await countRows()).toEqual(before);
    }
    const utf8 = await fetch(`${app.baseUrl}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"type":"noop","payload":{"echo":{"name":"café ✓"}}}', 'utf8'),
    });
    expect(utf8.status).toBe(201);
    expect(((await utf8.json()) as { payload: { echo: { name: string } } }).payload.echo.name).toBe('café ✓');
  });

  it('accepts a payload nested exactly 32 levels deep', async () => {
    const response = await app.request('POST', '/jobs', `{"type":"noop","payload":{"echo":{"a":${nested(30)}}}}`, { 'content-type': 'application/json' });
    expect(response.status).toBe(201);
  });

  it.each([
    ['/jobs?concurrency_key=a%00b', 'concurrency_key'],
    ['/jobs?concurrency_key=ok&concurrency_key=%00', 'concurrency_key[1]'],
  ])('refuses a NUL in a query string (%s) with 400 naming the parameter', async (url, field) => {
    const response = await app.request('GET', url);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, code: 'INVALID_TEXT', details: [{ field }] });
  });

  it.each([
    ['POST', '/jobs', '{"type":"noop","idempotency_key":null}', 'idempotency_key'],
    ['POST', '/jobs/batch', '{"jobs":[{"ref":"a","type":"noop"},{"type":"noop","depends_on":null}]}', 'jobs[1].depends_on'],
    ['POST', '/jobs/bulk/cancel', '{"ids":null}', 'ids'],
    ['POST', '/jobs/bulk/retry', '{"filter":null}', 'filter'],
  ])('refuses a null where a field may only be left out (%s %s), writing nothing', async (method, url, body, field) => {
    const before = await countRows();
    const response = await app.request(method, url, body, { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field, message: `${field} must not be null: leave it out, or give a value` }] });
    expect(await countRows()).toEqual(before);
  });

  it('takes a null run_at and concurrency_key (typed "or null" in the job model) as none, in a submit and in a batch', async () => {
    const single = await app.request('POST', '/jobs', '{"type":"noop","run_at":null,"concurrency_key":null}', { 'content-type': 'application/json' });
    expect(single.status).toBe(201);
    expect(single.body).toMatchObject({ run_at: null, concurrency_key: null });
    const delayed = await app.request('POST', '/jobs', '{"type":"noop","run_at":null,"delay_ms":600000}', { 'content-type': 'application/json' });
    expect(delayed.status).toBe(201);
    expect(delayed.body).toMatchObject({ status: 'pending', waiting_reason: { code: 'SCHEDULED' } });
    const batch = await app.request('POST', '/jobs/batch', '{"jobs":[{"type":"noop","run_at":null,"concurrency_key":null}]}', { 'content-type': 'application/json' });
    expect(batch.status).toBe(201);
    expect(batch.body.items[0]).toMatchObject({ run_at: null, concurrency_key: null });
  });

  it('still takes a null that lifts a queue limit', async () => {
    const response = await app.request('PATCH', '/queues/noop', '{"concurrency_limit":null,"rate_limit":null}', { 'content-type': 'application/json' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ concurrency_limit: null, rate_limit: null });
  });

  it('refuses a NUL in a batch item, naming the item', async () => {
    const before = await countRows();
    const response = await app.request('POST', '/jobs/batch', '{"jobs":[{"type":"noop"},{"type":"noop","payload":{"echo":{"t":"\\u0000"}}}]}', {
      'content-type': 'application/json',
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_TEXT', details: [{ field: 'jobs[1].payload.echo.t' }] });
    expect(await countRows()).toEqual(before);
  });

  it.each([
    ['a Date.parse-able time that is not an instant', '0|00000000-0000-0000-0000-000000000000'],
    ['year 0', '0000-01-01T00:00:00.000Z|00000000-0000-0000-0000-000000000000'],
    ['an impossible date', '2024-02-31T00:00:00.000Z|00000000-0000-0000-0000-000000000000'],
    ['hour 25', '2026-12-06T25:00:00.000Z|01a249b5-dbda-71c1-8d9f-f6919302ffad'],
    ['month 13', '2026-13-45T04:56:24.799Z|01a249b5-dbda-71c1-8d9f-f6919302ffad'],
    ['a time with an offset', '2024-01-01T00:00:00+01:00|00000000-0000-0000-0000-000000000000'],
  ])('refuses a crafted cursor (%s) with 400 INVALID_CURSOR', async (_case, raw) => {
    const cursor = Buffer.from(raw).toString('base64url');
    const response = await app.get(`/jobs?cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_CURSOR', details: [{ field: 'cursor' }] });
  });

  it.each([
    ['/jobs?cursor=', 'empty'],
    ['/jobs?cursor=%21%21', 'not base64url'],
    ['/schedules?cursor=', 'empty'],
    ['/schedules?cursor=a.b', 'not base64url'],
  ])('refuses %s (a cursor %s) with 400 INVALID_CURSOR', async (path) => {
    const response = await app.get(path);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_CURSOR', details: [{ field: 'cursor' }] });
  });

  it('keeps VALIDATION_FAILED when a bad cursor comes with another bad field', async () => {
    const response = await app.get('/jobs?cursor=&limit=0');
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a crafted log cursor with 400', async () => {
    const job = await app.submit({ type: 'noop' });
    const response = await app.get(`/jobs/${job.id}/logs?cursor=${Buffer.from('99999999999999999999').toString('base64url')}`);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('INVALID_CURSOR');
  });
});

describe('values at the edge of their range', () => {
  it('a run_at in a batch item before 1970 fails the whole batch with 400, and valid submits sent beside it are stored', async () => {
    const before = await countRows();
    const bad = app.request('POST', '/jobs/batch', '{"jobs":[{"ref":"a","type":"noop"},{"ref":"b","type":"noop","run_at":"0000-01-01T00:00:00Z","depends_on":["a"]}]}', {
      'content-type': 'application/json',
    });
    const good = Array.from({ length: 20 }, () => app.request('POST', '/jobs', '{"type":"noop"}', { 'content-type': 'application/json' }));
    const [badAnswer, ...goodAnswers] = await Promise.all([bad, ...good]);
    expect(badAnswer.status).toBe(400);
    expect(badAnswer.body.details[0].field).toBe('jobs[1].run_at');
    expect(goodAnswers.map((r) => r.status)).toEqual(goodAnswers.map(() => 201));
    expect((await countRows()).jobs).toBe(before.jobs + 20);
  });

  it("runs a job whose timeout_seconds is beyond setTimeout's 24.8 days to completion, not to an instant timeout", async () => {
    const job = await app.submit({ type: 'noop', payload: { duration_ms: 300 }, timeout_seconds: 31_536_000, retry_config: { max_attempts: 1 } });
    await expectEventually(async () => expect((await app.get(`/jobs/${job.id}`)).body.status).toBe('completed'));
  });

  it.each([
    ['PATCH', 'cancel'],
    ['POST', 'retry'],
  ])('%s /jobs/{id}/%s takes no body: an unknown field is a 400 and changes nothing', async (method, action) => {
    const job = await app.submit({ type: 'noop', delay_ms: 3_600_000 });
    const response = await app.request(method, `/jobs/${job.id}/${action}`, '{"reason":"x"}', { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'reason' }] });
    expect((await app.get(`/jobs/${job.id}`)).body.status).toBe('pending');
    expect((await app.request(method, `/jobs/${job.id}/${action}`, '[]', { 'content-type': 'application/json' })).status).toBe(400);
  });
});

describe('POST /jobs/batch: size before content', () => {
  it('refuses more jobs than MAX_BATCH_JOBS before looking at any item', async () => {
    // Items that would each fail validation: only the count is reported.
    const response = await app.post('/jobs/batch', { jobs: Array.from({ length: 100_000 }, () => ({})) });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      code: 'BATCH_TOO_LARGE',
      message: 'jobs lists 100000 jobs; at most 1000 are allowed (MAX_BATCH_JOBS)',
      details: [{ field: 'jobs' }],
    });
  });

  it('lists at most 100 problems of a batch of bad items', async () => {
    const response = await app.post('/jobs/batch', { jobs: Array.from({ length: 1000 }, () => ({})) });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(response.body.details).toHaveLength(100);
    expect(response.body.details[0]).toEqual({ field: 'jobs[0].type', message: 'jobs[0].type is required' });
  });
});

describe('the error shape: every error has a code', () => {
  // A missing type alone: error-bodies.e2e-spec.ts ("type is required" once, with per-field details).
  it('a URL with a bad percent-escape: 400 BAD_HTTP_REQUEST, not the framework\'s own code', async () => {
    const response = await app.request('PUT', '/schedules/a%ZZb', { cron: '@daily', job: { type: 'noop' } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, code: 'BAD_HTTP_REQUEST' });
    expect(JSON.stringify(response.body)).not.toContain('FST_');
  });

  it('lists every bad field, one message each, with the type check alone for a wrong type', async () => {
    const response = await app.post('/jobs', { type: 5, priority: 'urgent', resource_requirements: { cpu_units: 0 } });
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([
      { field: 'type', message: 'type must be a string' },
      { field: 'priority', message: 'priority must be one of: low, normal, high, critical' },
      { field: 'resource_requirements.cpu_units', message: 'resource_requirements.cpu_units must not be less than 1' },
    ]);
    expect(response.body.message).toEqual(response.body.details.map((d: { message: string }) => d.message));
  });

  it.each([
    [{ type: 'noop', timeout: 30 }, 'property timeout should not exist; did you mean "timeout_seconds"?'],
    [{ type: 'noop', dependsOn: [] }, 'property dependsOn should not exist; did you mean "depends_on"?'],
    [{ type: 'noop', prority: 'high' }, 'property prority should not exist; did you mean "priority"?'],
    [{ type: 'noop', retry_config: { max_attempt: 2 } }, 'property retry_config.max_attempt should not exist; did you mean "max_attempts"?'],
    [{ type: 'noop', payload: { duration: 5 } }, 'property payload.duration should not exist; did you mean "duration_ms"?'],
    [{ type: 'noop', colour: 'red' }, 'property colour should not exist'],
  ])('suggests the field meant by a near miss: %j', async (body, message) => {
    const response = await app.post('/jobs', body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect([response.body.message].flat()).toContain(message);
  });

  it.each([
    ['a form post', 'application/x-www-form-urlencoded', 'type=noop'],
    ['plain text', 'text/plain', '{"type":"noop"}'],
    ['multipart', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="type"\r\n\r\nnoop\r\n--x--'],
  ])('answers %s with 415, telling to send JSON', async (_case, contentType, body) => {
    const before = await countRows();
    const response = await app.request('POST', '/jobs', body, { 'content-type': contentType });
    expect(response.status).toBe(415);
    expect(response.body).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type', code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(response.body.message).toMatch(/Content-Type: application\/json/);
    expect(await countRows()).toEqual(before);
  });

  it.each([
    ['malformed JSON', 'POST', '/jobs', '{"type":', 400, 'INVALID_JSON'],
    ['an empty JSON body', 'POST', '/jobs', '', 400, 'EMPTY_BODY'],
    ['a __proto__ key', 'POST', '/jobs', '{"type":"noop","__proto__":{"x":1}}', 400, 'FORBIDDEN_JSON_KEY'],
    ['a constructor.prototype key', 'POST', '/jobs', '{"type":"noop","payload":{"constructor":{"prototype":{}}}}', 400, 'FORBIDDEN_JSON_KEY'],
    ['a constructor key', 'POST', '/jobs', '{"type":"noop","constructor":1}', 400, 'VALIDATION_FAILED'],
    ['a body that is a list', 'POST', '/jobs', '[1]', 400, 'VALIDATION_FAILED'],
    ['an unknown route', 'GET', '/nope', undefined, 404, 'NOT_FOUND'],
    ['a malformed id', 'GET', '/jobs/123', undefined, 400, 'INVALID_ID'],
    ['an unknown job', 'GET', '/jobs/01900000-0000-7000-8000-000000000000', undefined, 404, 'JOB_NOT_FOUND'],
    ['a bad query', 'GET', '/jobs?limit=0', undefined, 400, 'VALIDATION_FAILED'],
  ])('gives %s a code', async (_case, method, url, body, status, code) => {
    const response = await app.request(method, url, body, body === undefined ? {} : { 'content-type': 'application/json' });
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ statusCode: status, code });
    expect(typeof response.body.error).toBe('string');
    expect(response.body.message).toBeTruthy();
  });
});

describe('what clients send that is not wrong', () => {
  it.each([
    ['PATCH', 'cancel', (id: string) => `/jobs/${id}/cancel`],
    ['DELETE', 'delete', (id: string) => `/jobs/${id}`],
  ])('takes %s (%s) without a body but with "Content-Type: application/json"', async (method, _what, url) => {
    const job = await app.submit({ type: 'noop', payload: { duration_ms: 100 } });
    if (method === 'DELETE') await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('completed'));
    const response = await app.request(method, url(job.id), '', { 'content-type': 'application/json' });
    expect(response.status).toBe(method === 'DELETE' ? 204 : 200);
  });

  it('addresses a schedule by a name of 200 characters', async () => {
    const name = 'n'.repeat(200);
    const created = await app.request('PUT', `/schedules/${name}`, JSON.stringify({ cron: '@yearly', paused: true, job: { type: 'noop' } }), { 'content-type': 'application/json' });
    expect(created.status).toBe(201);
    expect((await app.get(`/schedules/${name}`)).body.name).toBe(name);
    expect((await app.request('DELETE', `/schedules/${name}`)).status).toBe(204);
  });

  it('answers a long path parameter by its own route: 400 for a job id, 404 for a queue', async () => {
    expect((await app.get(`/jobs/${'x'.repeat(300)}`)).body).toMatchObject({ statusCode: 400, code: 'INVALID_ID' });
    expect((await app.get(`/queues/${'x'.repeat(300)}`)).status).toBe(404);
    expect((await app.get(`/queues/${'x'.repeat(5000)}`)).body).toMatchObject({ statusCode: 404, code: 'QUEUE_NOT_FOUND' });
    expect((await app.get(`/jobs/${'x'.repeat(5000)}`)).body).toMatchObject({ statusCode: 400, code: 'INVALID_ID' });
  });

  it('refuses an unknown query parameter on endpoints that take none, and lets probes have theirs', async () => {
    const done = await app.submit({ type: 'noop' });
    await expectEventually(async () => expect((await app.get(`/jobs/${done.id}`)).body.status).toBe('completed'));
    for (const [method, url] of [
      ['GET', '/queues?x=1'],
      ['GET', '/queues/noop?x=1'],
      ['GET', `/jobs/${done.id}?x=1`],
      ['POST', `/jobs/${done.id}/retry?x=1`],
      ['DELETE', `/jobs/${done.id}?x=1`],
    ]) {
      const response = await app.request(method!, url!);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'x' }] });
    }
    expect((await app.get(`/jobs/${done.id}`)).status).toBe(200);
    expect((await app.get('/health?x=1')).status).toBe(200);
    expect((await app.get('/metrics?x=1')).status).toBe(200);
  });

  it('refuses a batch that gives two jobs one idempotency_key, naming both, and writes nothing', async () => {
    const before = await countRows();
    const response = await app.post('/jobs/batch', { jobs: [{ type: 'noop', idempotency_key: 'twice' }, { type: 'noop', idempotency_key: 'twice' }] });
    expect(response.status).toBe(400);
    expect(response.body.message).toContain('jobs[1].idempotency_key "twice" is already used by jobs[0]');
    expect(await countRows()).toEqual(before);
  });
});
