import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { aJob } from '../builders/job.builder.js';
import { makeTempDir, removeTempDir } from '../support/handler-peers.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp, type TestSpace } from '../support/test-app.js';

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';

let space: TestSpace;
let app: TestApp;
/** The built-in jobs submitted here run for real: keep their files out of the working tree. */
let fileDir: string;
const files = () => ({ EXPORT_DIR: `${fileDir}/exports`, MAIL_OUTBOX_DIR: `${fileDir}/outbox` });

beforeAll(async () => {
  fileDir = await makeTempDir('jobs-api');
  space = await createTestSpace('jobs_api');
  app = await startTestApp(space, { MAX_BODY_BYTES: '65536', MAX_CPU_UNITS: '8', MAX_MEMORY_MB: '4096', ...files() });
});

afterAll(async () => {
  await app?.close();
  await removeTempDir(fileDir);
});

/** A job that will not start soon: it waits for a long no-op. */
async function aWaitingJob(overrides: Record<string, unknown> = {}) {
  const long = await app.submit(aJob({ payload: { duration_ms: 600_000 } }));
  return app.submit(aJob({ depends_on: [long.id], ...overrides }));
}

describe('POST /jobs', () => {
  it('returns 201 with every default applied', async () => {
    const response = await app.post('/jobs', { type: 'noop' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      type: 'noop',
      priority: 'normal',
      payload: {},
      resource_requirements: { cpu_units: 1, memory_mb: 128 },
      retry_config: { max_attempts: 3, backoff_multiplier: 2, initial_delay_ms: 1000, max_delay_ms: 3_600_000 },
      timeout_seconds: 3600,
      depends_on: [],
      dependents: [],
      idempotency_key: null,
      attempts: 0,
      result: null,
      error: null,
    });
    expect(response.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(['ready', 'running', 'completed']).toContain(response.body.status);
    expect(new Date(response.body.created_at).toISOString()).toBe(response.body.created_at);
  });

  it('accepts the seed example data_export', async () => {
    const response = await app.post('/jobs', {
      type: 'data_export',
      priority: 'high',
      payload: { user_id: 123, format: 'csv' },
      resource_requirements: { cpu_units: 2, memory_mb: 512 },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ priority: 'high', payload: { user_id: 123, format: 'csv' }, resource_requirements: { cpu_units: 2, memory_mb: 512 } });
  });

  it('accepts the seed example report_generation depending on two jobs, blocked until they complete', async () => {
    const first = await aWaitingJob();
    const second = await app.submit(aJob({ payload: { duration_ms: 600_000 } }));
    const response = await app.post('/jobs', {
      type: 'report_generation',
      payload: { report_type: 'daily_summary', date: '2024-01-15' },
      depends_on: [first.id, second.id],
    });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('blocked');
    expect(response.body.depends_on.sort()).toEqual([first.id, second.id].sort());
    expect(response.body.waiting_reason).toMatchObject({ code: 'WAITING_FOR_DEPENDENCIES' });
    expect(response.body.waiting_reason.pending_ids.sort()).toEqual([first.id, second.id].sort());
    const dependency = await app.getJob(first.id);
    expect(dependency.dependents).toEqual([response.body.id]);
  });

  it('keeps every field given', async () => {
    const response = await app.post('/jobs', {
      type: 'send_email',
      priority: 'critical',
      payload: { to: 'ada@example.com', subject: 'hi' },
      resource_requirements: { cpu_units: 3, memory_mb: 1000 },
      retry_config: { max_attempts: 5, backoff_multiplier: 1.5, initial_delay_ms: 10, max_delay_ms: 100 },
      timeout_seconds: 42,
      idempotency_key: 'keeps-every-field',
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      priority: 'critical',
      resource_requirements: { cpu_units: 3, memory_mb: 1000 },
      retry_config: { max_attempts: 5, backoff_multiplier: 1.5, initial_delay_ms: 10, max_delay_ms: 100 },
      timeout_seconds: 42,
      idempotency_key: 'keeps-every-field',
    });
  });

  it('returns the first job with 200 for a repeated idempotency_key', async () => {
    const first = await app.post('/jobs', aJob({ idempotency_key: 'repeat-me' }));
    const second = await app.post('/jobs', aJob({ idempotency_key: 'repeat-me', priority: 'high' }));
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.priority).toBe('normal');
  });

  it('creates exactly one job for 20 concurrent repeats of an idempotency_key', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => app.post('/jobs', aJob({ idempotency_key: 'concurrent-key' }))),
    );
    const ids = new Set(responses.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(19);
    const rows = await app.app.get((await import('typeorm')).DataSource).query(
      `SELECT count(*)::int AS n FROM jobs WHERE idempotency_key = 'concurrent-key'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('accepts a trailing slash', async () => {
    const response = await app.post('/jobs/', aJob());
    expect(response.status).toBe(201);
  });

  it('cancels at once a job that depends on a cancelled job, naming it', async () => {
    const waiting = await aWaitingJob();
    await app.patch(`/jobs/${waiting.id}/cancel`);
    const response = await app.post('/jobs', aJob({ depends_on: [waiting.id] }));
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('cancelled');
    expect(response.body.error).toMatchObject({ code: 'DEPENDENCY_FAILED', dependency_id: waiting.id, root_id: waiting.id });
  });
});

describe('POST /jobs: bad input (DESIGN §6)', () => {
  const countJobs = async () =>
    (await app.app.get((await import('typeorm')).DataSource).query(`SELECT count(*)::int AS n FROM jobs`))[0].n as number;

  it.each([
    ['a missing type', {}, /^type is required$/],
    ['an unknown field', { type: 'noop', bogus: true }, /property bogus should not exist/],
    ['a bad priority', { type: 'noop', priority: 'urgent' }, /priority must be one of: low, normal, high, critical/],
    ['a payload that is not an object', { type: 'noop', payload: [1] }, /payload must be an object/],
    ['a cpu_units of 0', { type: 'noop', resource_requirements: { cpu_units: 0 } }, /cpu_units must not be less than 1/],
    ['a fractional memory_mb', { type: 'noop', resource_requirements: { memory_mb: 1.5 } }, /memory_mb must be an integer/],
    ['an unknown resource field', { type: 'noop', resource_requirements: { gpus: 1 } }, /property resource_requirements.gpus should not exist/],
    ['a max_attempts of 0', { type: 'noop', retry_config: { max_attempts: 0 } }, /max_attempts must not be less than 1/],
    ['a timeout_seconds of 0', { type: 'noop', timeout_seconds: 0 }, /timeout_seconds must not be less than 1/],
    ['a depends_on that is not a list of UUIDs', { type: 'noop', depends_on: ['nope'] }, /each value in depends_on must be a UUID/],
    ['an empty idempotency_key', { type: 'noop', idempotency_key: '' }, /idempotency_key must be longer than or equal to 1/],
  ])('refuses %s with 400', async (_case, body, message) => {
    const before = await countJobs();
    const response = await app.post('/jobs', body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect([response.body.message].flat().join('\n')).toMatch(message);
    expect(await countJobs()).toBe(before);
  });

  it('refuses an unknown type with 400 naming the known types', async () => {
    const response = await app.post('/jobs', { type: 'make_coffee' });
    expect(response.status).toBe(400);
    expect(response.body.message).toBe(
      'type "make_coffee" is not a registered job type; known types: data_export, data_fetch, data_processing, noop, report_generation, send_email',
    );
  });

  it.each([
    ['noop', { duration_ms: -1 }, /payload.duration_ms must not be less than 0/],
    ['noop', { typo: 1 }, /property payload.typo should not exist/],
    ['data_export', { user_id: 123 }, /payload.format is required/],
    ['data_export', { format: 'csv', filename: '../../etc/passwd' }, /payload.filename must be a plain file name/],
    ['data_export', { format: 'csv', user_id: 1e21 }, /payload.user_id must not be greater than 9007199254740991/],
    ['report_generation', { date: '2024-01-15' }, /payload.report_type is required/],
    ['report_generation', { report_type: 'daily_summary', date: 'yesterday' }, /payload.date must be an ISO-8601 date/],
    ['send_email', { to: 'not-an-address', subject: 'x' }, /payload.to must be an email address/],
    ['send_email', { to: 'a@example.com' }, /payload.subject is required/],
    ['data_fetch', { url: 'ftp://example.com/file' }, /payload.url must be an http\(s\) URL/],
    ['data_processing', { operations: [{ op: 'explode' }] }, /operations\[0\].op must be one of/],
    ['data_processing', { operations: [{ op: 'filter', field: 'x', operator: 'like', value: 1 }] }, /unknown operator "like"/],
    ['data_processing', { operations: [{ op: 'filter', field: 'x', operator: 'exists', value: 'yes' }] }, /boolean value \(or none\) for exists/],
    ['data_processing', { operations: [{ op: 'filter', field: 'x', operator: 'gt', value: [1] }] }, /number or string value for gt/],
    ['data_processing', { operations: [{ op: 'group_by', by: 'x', aggregates: [{ fn: 'median', field: 'y' }] }] }, /aggregates\[0\] needs fn/],
    ['data_processing', { records: [1, 2], operations: [] }, /each record must be an object/],
    ['data_fetch', { url: 'https://example.com', headers: { 'x-a': 1 } }, /headers must be an object of at most 100 header names to string values/],
    ['data_fetch', { url: 'https://example.com', headers: { 'bad name': 'v' } }, /headers must be an object/],
    ['data_fetch', { url: 'https://example.com', headers: { 'x-name': 'éĀ' } }, /headers must be an object .*Latin-1/],
    ['data_fetch', { url: 'https://example.com', headers: { 'Transfer-Encoding': 'chunked' } }, /headers must not set connection, keep-alive, transfer-encoding/],
    ['data_fetch', { url: 'https://example.com', headers: { expect: '100-continue' } }, /headers must not set/],
    ['data_fetch', { url: 'https://example.com', headers: { Host: 'internal.example' } }, /headers must not set .*host/],
    ['data_fetch', { url: 'https://example.com', body: 'x' }, /body needs a method that carries one/],
    ['data_fetch', { url: 'https://example.com', method: 'POST', body: 42 }, /body must be a string .* or a JSON object or array/],
    ['data_fetch', { url: 'https://example.com', max_bytes: 5_000_000 }, /max_bytes must not be greater than 1000000/],
    ['data_fetch', { url: 'https://example.com', max_redirects: 50 }, /max_redirects must not be greater than 20/],
    ['data_fetch', { url: 'https://example.com', method: 'TRACE' }, /method must be one of: GET, POST/],
    ['data_export', { format: 'xlsx' }, /payload.format must be one of: csv, json, ndjson/],
    ['data_export', { format: 'csv', filename: '.hidden' }, /payload.filename must be a plain file name/],
    ['data_export', { format: 'csv', filename: 'a/b.csv' }, /payload.filename must be a plain file name/],
    ['data_export', { format: 'csv', fields: [1] }, /payload.fields/],
    ['data_export', { format: 'csv', user_id: 'abc' }, /payload.user_id must be an integer/],
    ['data_export', { format: 'json', escape_formulas: true }, /payload.escape_formulas applies to format csv only/],
    ['data_export', { format: 'csv', escape_formulas: 'yes' }, /payload.escape_formulas must be a boolean/],
    ['report_generation', { report_type: 'daily_summary', format: 'pdf' }, /payload.format must be one of: markdown, html/],
    ['report_generation', { report_type: 'Daily Summary' }, /report_type must be snake_case/],
    ['send_email', { to: ['a@example.com', 'nope'], subject: 'x' }, /payload.to must be an email address or a list/],
    ['send_email', { to: 'a@example.com', subject: 'x', cc: ['nope'] }, /each address in cc must be an email address/],
    ['send_email', { to: 'a@example.com', subject: 'x', from: 'a\r\nBcc: evil@example.com' }, /from must be an email address/],
    ['send_email', { to: 'a@example.com', subject: 'x', attach_dependency_files: 'yes' }, /attach_dependency_files must be a boolean/],
  ])('refuses a bad %s payload %j with 400', async (type, payload, message) => {
    const response = await app.post('/jobs', { type, payload });
    expect(response.status).toBe(400);
    expect([response.body.message].flat().join('\n')).toMatch(message);
  });

  it('refuses requirements over the worker limits with 400', async () => {
    const response = await app.post('/jobs', aJob({ resource_requirements: { cpu_units: 9, memory_mb: 5000 } }));
    expect(response.status).toBe(400);
    expect(response.body.message).toEqual([
      'resource_requirements.cpu_units 9 exceeds MAX_CPU_UNITS 8',
      'resource_requirements.memory_mb 5000 exceeds MAX_MEMORY_MB 4096',
    ]);
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await app.request('POST', '/jobs', '{"type": "noop",', {});
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(response.body.message).toMatch(/not valid JSON/);
  });

  it('refuses a body that is not a JSON object with 400', async () => {
    const response = await app.request('POST', '/jobs', '[1,2]', {});
    expect(response.status).toBe(400);
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const response = await app.post('/jobs', aJob({ payload: { echo: { blob: 'x'.repeat(70_000) } } }));
    expect(response.status).toBe(413);
    expect(response.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'request body is larger than the allowed maximum (MAX_BODY_BYTES)',
      code: 'BODY_TOO_LARGE',
    });
  });

  it('refuses a depends_on naming an unknown job with 422, writing nothing', async () => {
    const before = await countJobs();
    const response = await app.post('/jobs', aJob({ depends_on: [UNKNOWN_ID] }));
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: `depends_on names unknown job: ${UNKNOWN_ID}`,
      unknown_ids: [UNKNOWN_ID],
    });
    expect(await countJobs()).toBe(before);
  });

  it('never answers 500 or leaks a stack for odd input', async () => {
    const odd: unknown[] = [
      'null', '"text"', '42', '{"type": null}', '{"type": "noop", "depends_on": "x"}',
      '{"type": "noop", "retry_config": []}', '{"type": "noop", "resource_requirements": "big"}', '{"__proto__": {"x": 1}, "type": "noop"}',
      '{"type": "noop", "constructor": {"prototype": {"x": 1}}}', '{"type": "' + 'a'.repeat(500) + '"}', '{"type":"noop","timeout_seconds":1e400}',
    ];
    for (const body of odd) {
      const response = await app.request('POST', '/jobs', body as string, {});
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(js|ts):\d+/);
    }
  });
});

describe('GET /jobs/{id}', () => {
  it('returns the job with depends_on and dependents', async () => {
    const parent = await aWaitingJob();
    const child = await app.submit(aJob({ depends_on: [parent.id] }));
    const response = await app.get(`/jobs/${parent.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: parent.id, dependents: [child.id] });
    expect((await app.getJob(child.id)).depends_on).toEqual([parent.id]);
  });

  it('answers 404 for an unknown id', async () => {
    const response = await app.get(`/jobs/${UNKNOWN_ID}`);
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: `job ${UNKNOWN_ID} not found`, code: 'JOB_NOT_FOUND' });
  });

  it('answers 400 for a malformed id', async () => {
    const response = await app.get('/jobs/not-a-uuid');
    expect(response.status).toBe(400);
    expect(response.body.message).toBe('id must be a UUID, got "not-a-uuid"');
  });
});

describe('GET /jobs', () => {
  let local: TestApp;
  let created: any[];

  beforeAll(async () => {
    local = await startTestApp(await createTestSpace('jobs_list'), files());
    created = [];
    const plan: Array<[string, string]> = [
      ['noop', 'low'], ['send_email', 'high'], ['noop', 'critical'], ['noop', 'high'], ['data_export', 'normal'],
    ];
    for (const [type, priority] of plan) {
      const payload = type === 'send_email' ? { to: 'a@example.com', subject: 's' } : type === 'data_export' ? { format: 'csv' } : { duration_ms: 600_000 };
      created.push(await local.submit({ type, priority, payload }));
    }
  });

  afterAll(async () => {
    await local?.close();
  });

  it('lists newest first', async () => {
    const response = await local.get('/jobs');
    expect(response.status).toBe(200);
    expect(response.body.items.map((j: any) => j.id)).toEqual(created.map((j) => j.id).reverse());
    expect(response.body.next_cursor).toBeNull();
  });

  it('filters by type and priority, repeatable or comma-separated', async () => {
    const byType = await local.get('/jobs?type=send_email,data_export');
    expect(byType.body.items.map((j: any) => j.type).sort()).toEqual(['data_export', 'send_email']);
    const byPriority = await local.get('/jobs?priority=high&priority=critical');
    expect(byPriority.body.items.map((j: any) => j.priority).sort()).toEqual(['critical', 'high', 'high']);
    const both = await local.get('/jobs?type=noop&priority=high');
    expect(both.body.items.map((j: any) => j.id)).toEqual([created[3].id]);
  });

  it('filters by status', async () => {
    await local.patch(`/jobs/${created[0].id}/cancel`);
    const response = await local.get('/jobs?status=cancelled');
    expect(response.body.items.map((j: any) => j.id)).toEqual([created[0].id]);
  });

  it('pages with a keyset cursor until next_cursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: any = await local.get(`/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items.map((j: any) => j.id));
      cursor = response.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((j) => j.id).reverse());
  });

  it.each([
    ['limit=0', /limit must not be less than 1/],
    ['limit=201', /limit must not be greater than 200/],
    ['limit=abc', /limit must be an integer between 1 and 200/],
    ['status=done', /each status must be one of/],
    ['priority=urgent', /each priority must be one of/],
    ['cursor=%%%', /cursor is not a cursor returned by this API/],
    ['cursor=bm90LWEtY3Vyc29y', /cursor is not a cursor returned by this API/],
    ['sort=asc', /property sort should not exist/],
  ])('refuses %s with 400', async (query, message) => {
    const response = await local.get(`/jobs?${query}`);
    expect(response.status).toBe(400);
    expect([response.body.message].flat().join('\n')).toMatch(message);
  });
});

describe('PATCH /jobs/{id}/cancel', () => {
  it('cancels a waiting job and everything downstream of it', async () => {
    const root = await aWaitingJob();
    const child = await app.submit(aJob({ depends_on: [root.id] }));
    const grandchild = await app.submit(aJob({ depends_on: [child.id, root.id] }));
    const response = await app.patch(`/jobs/${root.id}/cancel`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: root.id, status: 'cancelled', error: { code: 'CANCELLED_BY_USER' } });
    expect(response.body.completed_at).not.toBeNull();
    expect(await app.getJob(child.id)).toMatchObject({
      status: 'cancelled',
      error: { code: 'DEPENDENCY_FAILED', dependency_id: root.id, root_id: root.id },
    });
    const g = await app.getJob(grandchild.id);
    expect(g).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED', root_id: root.id } });
    expect([root.id, child.id]).toContain(g.error.dependency_id);
  });

  it('answers 409 for a job already terminal', async () => {
    const job = await aWaitingJob();
    expect((await app.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
    const again = await app.patch(`/jobs/${job.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ statusCode: 409, error: 'Conflict', message: `job ${job.id} is already cancelled and cannot be cancelled` });
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    expect((await app.patch(`/jobs/${UNKNOWN_ID}/cancel`)).status).toBe(404);
    expect((await app.patch('/jobs/123/cancel')).status).toBe(400);
  });
});

describe('GET /jobs/{id}/logs', () => {
  it('lists a log line per state change, oldest first, with paging', async () => {
    const job = await aWaitingJob();
    await app.patch(`/jobs/${job.id}/cancel`);
    const response = await app.get(`/jobs/${job.id}/logs`);
    expect(response.status).toBe(200);
    expect(response.body.items.map((l: any) => l.message)).toEqual(['job submitted as blocked', 'job cancelled by anonymous']);
    expect(response.body.items[0]).toMatchObject({ level: 'info', attempt: 0, data: { status: 'blocked' } });
    expect(response.body.items[1]).toMatchObject({ level: 'warn', data: { status: 'cancelled', error: { code: 'CANCELLED_BY_USER' } } });
    expect(response.body.next_cursor).toBeNull();
    const first = await app.get(`/jobs/${job.id}/logs?limit=1`);
    expect(first.body.items).toHaveLength(1);
    const second = await app.get(`/jobs/${job.id}/logs?limit=1&cursor=${first.body.next_cursor}`);
    expect(second.body.items[0].message).toBe('job cancelled by anonymous');
  });

  it('answers 404 for an unknown job', async () => {
    expect((await app.get(`/jobs/${UNKNOWN_ID}/logs`)).status).toBe(404);
  });
});

describe('API keys', () => {
  let secured: TestApp;

  beforeAll(async () => {
    secured = await startTestApp(space, { API_KEYS: 'k1,k2', ...files() });
  });

  afterAll(async () => {
    await secured?.close();
  });

  it('answers 401 without a key or with a wrong one', async () => {
    const missing = await secured.post('/jobs', aJob());
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(missing.body.message).toMatch(/missing API key/);
    const wrong = await secured.get('/jobs', { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('invalid API key');
  });

  it('accepts a key as Bearer token or x-api-key', async () => {
    expect((await secured.post('/jobs', aJob(), { authorization: 'Bearer k2' })).status).toBe(201);
    expect((await secured.get('/jobs', { 'x-api-key': 'k1' })).status).toBe(200);
  });

  it('leaves /health and /docs open', async () => {
    expect((await secured.get('/health')).status).toBe(200);
    expect((await secured.get('/docs-json')).status).toBe(200);
  });
});

describe('operations endpoints', () => {
  it('GET /health reports PostgreSQL and Redis up in the Terminus shape', async () => {
    const response = await app.get('/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } }, error: {} });
  });

  it('GET /metrics serves Prometheus text with submissions by type and HTTP durations', async () => {
    await app.submit(aJob());
    const response = await app.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(/draconic_jobs_submitted_total\{type="noop"\} \d+/);
    expect(response.body).toMatch(/draconic_http_request_duration_seconds_bucket\{.*route="\/jobs".*\}/);
    expect(response.body).toMatch(/draconic_jobs\{status="ready"\} \d+/);
  });

  it('counts transitions without progress reports, and a retried attempt that timed out as a timeout', async () => {
    const metric = async (pattern: RegExp) => Number(pattern.exec((await app.get('/metrics')).body)?.[1] ?? 0);
    const running = /^draconic_job_transitions_total\{type="data_processing",to="running"\} (\d+)/m;
    const timedOutRuns = /^draconic_job_run_duration_seconds_count\{type="noop",outcome="timeout"\} (\d+)/m;
    const [runningBefore, timeoutsBefore] = [await metric(running), await metric(timedOutRuns)];
    const processing = await app.submit({
      type: 'data_processing',
      payload: { records: [{ n: 1 }, { n: 2 }], operations: [{ op: 'sort', by: 'n' }, { op: 'limit', count: 1 }] },
    });
    const slow = await app.submit(aJob({ payload: { duration_ms: 5_000 }, timeout_seconds: 1, retry_config: { max_attempts: 2, initial_delay_ms: 100 } }));
    await expectEventually(async () => expect((await app.getJob(processing.id)).status).toBe('completed'));
    await expectEventually(async () => expect((await app.getJob(slow.id)).attempts).toBe(2), { timeoutMs: 10_000 });
    // data_processing reports progress after each operation: two job_progress events, one job_started.
    expect((await metric(running)) - runningBefore).toBe(1);
    expect((await metric(timedOutRuns)) - timeoutsBefore).toBe(1);
  });

  it('observes each run once, by how it ended: the dependents a completion starts are not runs that ended', async () => {
    const runs = async () => {
      const text = (await app.get('/metrics')).body as string;
      const count = (outcome: string) => Number(new RegExp(`^draconic_job_run_duration_seconds_count\\{type="noop",outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { completed: count('completed'), running: count('running'), anyRunning: /outcome="running"/.test(text) };
    };
    const before = await runs();
    const batch = await app.post('/jobs/batch', {
      jobs: [
        { ref: 'root', type: 'noop', payload: { duration_ms: 200 } },
        ...['a', 'b', 'c'].map((ref) => ({ ref, type: 'noop', payload: {}, depends_on: ['root'] })),
      ],
    });
    expect(batch.status).toBe(201);
    const ids = (batch.body.items as Array<{ id: string }>).map((item) => item.id);
    await expectEventually(async () => expect((await Promise.all(ids.map((id) => app.getJob(id)))).map((j) => j.status)).toEqual(ids.map(() => 'completed')));
    const after = await runs();
    expect(after.anyRunning).toBe(false);
    expect(after.completed - before.completed).toBe(4);
  });

  it('serves Swagger UI at /docs and the OpenAPI document at /docs-json', async () => {
    const ui = await app.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    const doc = await app.get('/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual(
      expect.arrayContaining(['/jobs', '/jobs/{id}', '/jobs/{id}/cancel', '/jobs/{id}/logs', '/health', '/metrics']),
    );
    const submit = doc.body.paths['/jobs'].post;
    expect(Object.keys(submit.requestBody.content['application/json'].examples)).toEqual(
      expect.arrayContaining(['data_export', 'report_generation']),
    );
    expect(Object.keys(submit.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '413', '415', '422']));
    expect(doc.body.components.schemas.SubmitJobDto.properties.priority.enum).toEqual(['low', 'normal', 'high', 'critical']);
  });

  it('GET /health answers 503 in the Terminus shape when Redis is down', async () => {
    const cut = await startTestApp(await createTestSpace('health_down'), { ROLE: 'api', REDIS_URL: 'redis://127.0.0.1:1/0' });
    try {
      const response = await cut.get('/health');
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ status: 'error', info: { database: { status: 'up' } }, error: { redis: { status: 'down' } } });
    } finally {
      await cut.close();
    }
  });

  it('echoes a request id', async () => {
    const response = await app.get('/health', { 'x-request-id': 'abc-123' });
    expect(response.headers['x-request-id']).toBe('abc-123');
  });
});
