/**
 * Hostile input as a property: generated requests for every endpoint, sent over HTTP to a running
 * service process. Whatever comes in, no answer is a 5xx, no answer shows a stack trace, a refused
 * request writes no row, and no key shows up in the service's logs. FC_SEED=<n> replays a run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import pg from 'pg';
import { startApiProcess, stopAllProcesses, type ApiProcess } from '../support/processes.js';
import { createTestSpace, type TestSpace } from '../support/test-app.js';

const KEY = 'hostile-operate-key-7f3a9c';
const ADMIN_KEY = 'hostile-admin-key-41be02';
const TIME_LIMIT_MS = 35_000;

let space: TestSpace;
let api: ApiProcess;
let db: pg.Client;
const logLines: string[] = [];
let stopListening: () => void = () => undefined;
let existingId = '';
let existingScheduleId = '';
/** Every documented operation, as `METHOD /path/{param}`, from the service's own OpenAPI document. */
let documented: Array<{ method: string; template: string }> = [];

beforeAll(async () => {
  space = await createTestSpace('hostile_requests');
  api = await startApiProcess(space, {
    ROLE: 'all',
    LOG_LEVEL: 'debug',
    API_KEYS: `fuzz:${KEY}:operate,root:${ADMIN_KEY}:admin`,
    RATE_LIMIT_MAX: '0',
    MAX_BODY_BYTES: '2097152',
  });
  // The boot (banner included), kept before a thousand logged requests push it out of api.output().
  await api.waitForLine((line) => line.includes('listening on'), 'the boot banner');
  logLines.push(api.output());
  stopListening = api.onLine((line) => logLines.push(line));
  db = new pg.Client({ connectionString: space.databaseUrl });
  await db.connect();
  const created = await send({ method: 'POST', path: '/jobs', body: JSON.stringify({ type: 'noop', payload: { duration_ms: 600_000 } }) });
  existingId = JSON.parse(created.text).id;
  // A paused schedule that never fires on its own, so a by-name or by-id request has something to act on.
  const schedule = await send({
    method: 'PUT',
    path: '/schedules/EXISTING_SCHEDULE',
    key: ADMIN_KEY,
    body: JSON.stringify({ cron: '0 0 1 1 *', job: { type: 'noop' }, paused: true }),
  });
  expect(schedule.status).toBeLessThan(300);
  existingScheduleId = JSON.parse(schedule.text).id;
  const docs = await send({ method: 'GET', path: '/docs-json' });
  expect(docs.status).toBe(200);
  const paths = JSON.parse(docs.text).paths as Record<string, Record<string, unknown>>;
  documented = Object.entries(paths).flatMap(([template, operations]) =>
    Object.keys(operations)
      .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map((method) => ({ method: method.toUpperCase(), template })),
  );
  expect(documented.length).toBeGreaterThan(10);
}, 60_000);

afterAll(async () => {
  stopListening();
  await db?.end();
  await stopAllProcesses();
});

interface HostileRequest {
  method: string;
  path: string;
  contentType?: string;
  body?: string;
  key?: string | null;
  /** The documented operation (`METHOD /path/{param}`) the request was generated for, when known. */
  template?: string;
}

async function send(request: HostileRequest): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  else if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.key !== null) headers['x-api-key'] = request.key ?? KEY;
  const response = await fetch(api.baseUrl + request.path, {
    method: request.method,
    headers,
    body: request.body,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, text: await response.text() };
}

const countRows = async () =>
  (
    await db.query(
      `SELECT (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM job_dependencies)::int AS edges,
              (SELECT count(*) FROM schedules)::int AS schedules, (SELECT count(*) FROM queues)::int AS queues`,
    )
  ).rows[0] as { jobs: number; edges: number; schedules: number; queues: number };

// ---- generators ------------------------------------------------------------------------------

/** Percent-encodes a string; one with a lone surrogate (which has no UTF-8) as the bytes a careless client would send. */
const encode = (text: string) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
};

const nastyString = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\udc00y', '\ud83d', '', ' ', '../../etc/passwd', '%00', "'; DROP TABLE jobs; --"),
  fc.string({ maxLength: 50 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constant('x'.repeat(5000)),
);
const nastyNumber = fc.oneof(
  fc.constantFrom(0, -1, -0, 0.5, -2.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 31, -(2 ** 31) - 1, 1e-300),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
/** Nested arrays or objects `depth` levels deep, as JSON text. */
const deep = fc.tuple(fc.integer({ min: 20, max: 3000 }), fc.boolean()).map(([depth, arrays]) =>
  arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
);
const bigArray = fc.constantFrom(
  `[${Array.from({ length: 100_000 }, (_, i) => i).join(',')}]`,
  `[${Array.from({ length: 100_000 }, () => '{}').join(',')}]`,
  `[${Array.from({ length: 100_000 }, () => '"\\u0000"').join(',')}]`,
);
const jsonValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: nastyString.map((s) => JSON.stringify(s)) },
  { weight: 5, arbitrary: nastyNumber.map((n) => JSON.stringify(n)) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.constantFrom('null', 'true', '[]', '{}', '1e400', '-1e400', '"\\ud800"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}') },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.constant('BIG') }, // replaced by a 100,000-element array (rarely: they are slow to build and send)
);

const JOB_FIELDS = ['type', 'priority', 'payload', 'resource_requirements', 'retry_config', 'timeout_seconds', 'idempotency_key', 'depends_on', 'ref'];
const TYPES = ['noop', 'data_fetch', 'data_processing', 'data_export', 'report_generation', 'send_email'];
const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...JOB_FIELDS, ...JOB_FIELDS, 'timeout', 'dependsOn', 'cpu_units', 'url', 'records', 'operations', 'to') },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', '\u0000', '\ud800') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
/** A JSON object as text: maybe a duplicate key, values from anywhere. */
const objectText = (value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(fc.array(fc.tuple(key, value), { maxLength: 6 }), fc.boolean(), fc.constantFrom(...TYPES)).map(([entries, withType, type]) => {
    const parts = entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`);
    if (withType) parts.unshift(`"type":${JSON.stringify(type)}`);
    return `{${parts.join(',')}}`;
  });
const payloadLike = objectText(jsonValue);
const jobText = objectText(fc.oneof({ weight: 3, arbitrary: jsonValue }, { weight: 2, arbitrary: payloadLike }));
const batchText = fc.oneof(
  fc.array(jobText, { maxLength: 5 }).map((jobs) => `{"jobs":[${jobs.join(',')}]}`),
  fc.constantFrom('{"jobs":[]}', '{"jobs":{}}', '{"jobs":null}', `{"jobs":[${Array.from({ length: 20_000 }, () => '{}').join(',')}]}`),
  fc.tuple(jobText, jsonValue).map(([job, extra]) => `{"jobs":[${job}],"extra":${extra}}`),
);
const rawBody = fc.oneof(
  { weight: 6, arbitrary: jobText },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"type":', 'not json', '\u0000', 'type=noop&priority=high', '[1,2', '{"type":"noop"}{"type":"noop"}') },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/xml', 'application/json, text/plain', '') },
);

const UUID_LIKE = ['01900000-0000-7000-8000-000000000000', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
const badId = fc.oneof(
  fc.constantFrom(...UUID_LIKE, 'x', '123', '%00', '..%2F..%2Fetc', '%E0%A4%A', 'g'.repeat(36), `${'0'.repeat(8)}-zzzz-0000-0000-${'0'.repeat(12)}`, 'EXISTING'),
  fc.uuid(),
  fc.string({ maxLength: 60 }).map(encode),
);
const cursor = fc.oneof(
  fc.constantFrom('0|00000000-0000-0000-0000-000000000000', '2024-01-01T00:00:00.000Z|x', '99999999999999999999', '-1', '1e10', '0000-01-01T00:00:00.000Z|00000000-0000-0000-0000-000000000000', '+275760-09-13T00:00:00.000Z|00000000-0000-0000-0000-000000000000')
    .map((raw) => Buffer.from(raw).toString('base64url')),
  fc.string({ maxLength: 300 }).map(encode),
);
const queryValue = fc.oneof(nastyNumber.map(String), nastyString, fc.constantFrom('ready,running', 'high', 'noop', ',,,', ''));
const listQuery = fc
  .array(fc.tuple(fc.constantFrom('status', 'type', 'priority', 'limit', 'cursor', 'sort', '__proto__', 'limit[]'), fc.oneof(queryValue, cursor)), { maxLength: 5 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${encode(String(v))}`).join('&'));

const anyKey = fc.constantFrom<string | undefined>(undefined, undefined, ADMIN_KEY, ADMIN_KEY);
const bodyOf = (text: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 6, arbitrary: text }, { weight: 1, arbitrary: rawBody }, { weight: 1, arbitrary: jsonValue });

/** Schedule names, ids and the values a careless or hostile client sends in their place. */
const badName = fc.oneof(
  fc.constantFrom('EXISTING_SCHEDULE', 'EXISTING_SCHEDULE_ID', 'nightly', 'a'.repeat(300), '-', '.', '..', '__proto__', 'constructor', '%00', '%ED%A0%80', 'a%2Fb', 'A B', 'x?preview=3'),
  badId,
);
const badCron = fc.oneof(
  fc.constantFrom(
    '0 0 1 1 *', '0 0 29 2 *', '0 0 31 2 *', '0 0 30 2 *', '* * * * * * *', '61 * * * *', '*/0 * * * *', '1-0 * * * *', '@reboot', '@yearly',
    '', ' ', 'x', '0 0 1 1 * *', '0 0 1 1 MON-XYZ', '0-59/999999999999 * * * *', `${'1,'.repeat(5000)}1 * * * *`, '\u0000 * * * *', 'L W # ? *',
  ),
  fc.string({ maxLength: 40 }),
);
const badZone = fc.oneof(
  fc.constantFrom('UTC', 'Europe/Paris', 'Etc/GMT+14', 'Mars/Olympus', 'utc', '+25:00', '../../etc/localtime', 'Europe/', '', 'x'.repeat(2000), 'America/New_York\u0000'),
  fc.string({ maxLength: 30 }),
);
const jsonText = (value: unknown) => JSON.stringify(value);
const field = <T>(name: string, good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: good.map((v) => `${jsonText(name)}:${jsonText(v)}`) }, { weight: 2, arbitrary: jsonValue.map((v) => `${jsonText(name)}:${v}`) });
const objectOf = (fields: Array<fc.Arbitrary<string>>) =>
  fc.tuple(fc.subarray(fields), fc.array(fc.tuple(key, jsonValue), { maxLength: 2 }), fc.boolean()).map(([chosen, extra, duplicate]) => {
    const parts = [...chosen, ...extra.map(([k, v]) => `${jsonText(k)}:${v}`)];
    if (duplicate && parts.length > 0) parts.push(parts[0]!);
    return `{${parts.join(',')}}`;
  });
const dateString = fc.oneof(
  fc.constantFrom('2030-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '2024-02-30T00:00:00Z', 'yesterday', '', '2030-01-01'),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const scheduleText = objectOf([
  field('name', badName),
  field('cron', badCron),
  field('timezone', badZone),
  field('job', fc.oneof(fc.constant({ type: 'noop' }), fc.constant({ type: 'nope' }), fc.constant({ type: 'noop', depends_on: ['x'] }), fc.constant({ type: 'noop', priority: 'urgent' }))),
  jobText.map((job) => `"job":${job}`),
  field('overlap_policy', fc.constantFrom('skip', 'allow', 'queue', 'replace', 'SKIP', '')),
  field('catch_up', fc.constantFrom('none', 'latest', 'all', 'some', '')),
  field('paused', fc.constantFrom(true, false, 'true', 0, null)),
  field('start_at', dateString),
  field('end_at', dateString),
]);
/** A valid schedule with hostile fields on top (a repeated key's last value wins), so that some get past validation. */
const nearlyValidSchedule = fc
  .tuple(fc.constantFrom('gen-a', 'gen-b', 'hostile-fixture'), fc.array(scheduleText, { maxLength: 1 }))
  .map(([name, extra]) => {
    const base = `"name":"${name}","cron":"0 0 1 1 *","job":{"type":"noop"},"paused":true`;
    const more = extra[0]?.slice(1, -1) ?? '';
    return `{${base}${more ? `,${more}` : ''}}`;
  });
const queueText = objectOf([
  field('paused', fc.constantFrom(true, false, 'false', 1, null)),
  field('concurrency_limit', fc.oneof(nastyNumber, fc.constantFrom(1, 100, null))),
  field('key_concurrency_limit', fc.oneof(nastyNumber, fc.constantFrom(1, 100, null))),
  field('rate_limit', fc.oneof(fc.constant(null), fc.record({ limit: nastyNumber, interval_ms: nastyNumber }), fc.constant({ limit: 1 }), fc.constant({ limit: 5, interval_ms: 1000 }))),
]);
const uuidList = fc.oneof(
  fc.array(fc.oneof(fc.uuid(), fc.constantFrom('EXISTING', 'x', '', ...UUID_LIKE)), { maxLength: 5 }),
  fc.constant(Array.from({ length: 5000 }, (_, i) => `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`)),
  fc.constant(Array.from({ length: 2000 }, () => 'EXISTING')),
);
const filterText = objectOf([
  field('status', fc.array(fc.constantFrom('ready', 'running', 'failed', 'cancelled', 'completed', 'blocked', 'bogus', ''), { maxLength: 4 })),
  field('type', fc.array(fc.oneof(fc.constantFrom(...TYPES), nastyString), { maxLength: 3 })),
  field('priority', fc.array(fc.constantFrom('high', 'normal', 'low', 'urgent', 1), { maxLength: 3 })),
  field('schedule_id', uuidList),
  field('created_before', dateString),
  field('created_after', dateString),
]);
const bulkText = objectOf([field('ids', uuidList), filterText.map((f) => `"filter":${f}`), field('filter', fc.constantFrom({}, [], null, 'all'))]);
const workersQuery = fc
  .array(fc.tuple(fc.constantFrom('status', 'status[]', 'limit', 'type', '__proto__'), fc.oneof(queryValue, fc.constantFrom('alive', 'dead', 'idle', 'busy', 'alive,dead'))), { maxLength: 3 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${encode(String(v))}`).join('&'));
const previewQuery = fc.oneof(nastyNumber.map(String), queryValue, fc.constantFrom('1', '10', '100', '1000', '100000', '1e3', '0x10', '', 'true')).map(
  (n) => `?preview=${encode(n)}`,
);

/** One request to each documented operation, with every path parameter replaced by a hostile value. */
const fromDocument = (operation: { method: string; template: string }): fc.Arbitrary<HostileRequest> =>
  fc
    .tuple(fc.array(badName, { minLength: 4, maxLength: 4 }), bodyOf(jobText), contentType, anyKey, fc.boolean())
    .map(([params, body, type, key, withBody]) => {
      let i = 0;
      const path = operation.template.replace(/\{[^}]+\}/g, () => params[i++ % params.length]!);
      const sendsBody = withBody && operation.method !== 'GET' && operation.method !== 'DELETE';
      return { method: operation.method, path, template: `${operation.method} ${operation.template}`, body: sendsBody ? body : undefined, contentType: sendsBody ? type : undefined, key };
    });

/** Requests this test once found a 5xx for; sent on every run, and among the generated ones too. */
const REGRESSIONS: HostileRequest[] = [
  // A NUL in a schedule key reached PostgreSQL (which refuses it) and came back a 500.
  { method: 'POST', path: '/schedules/%00/trigger' },
  { method: 'POST', path: '/schedules/a%00b/trigger', key: ADMIN_KEY },
  { method: 'GET', path: '/schedules/%00?preview=3' },
  { method: 'PATCH', path: '/schedules/%00', body: '{"paused":true}', key: ADMIN_KEY },
  { method: 'DELETE', path: '/schedules/%00', key: ADMIN_KEY },
];

const request: fc.Arbitrary<HostileRequest> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(rawBody, contentType).map(([body, type]) => ({ method: 'POST', path: '/jobs', body, contentType: type })) },
  { weight: 3, arbitrary: fc.tuple(batchText, contentType).map(([body, type]) => ({ method: 'POST', path: '/jobs/batch', body, contentType: type })) },
  { weight: 2, arbitrary: listQuery.map((q) => ({ method: 'GET', path: `/jobs?${q}` })) },
  {
    weight: 3,
    arbitrary: fc.tuple(badId, fc.constantFrom('', '/graph', '/logs', '/logs?cursor=', '/cancel'), cursor).map(([id, tail, c]) => ({
      method: tail === '/cancel' ? 'PATCH' : 'GET',
      path: `/jobs/${id}${tail}${tail.endsWith('=') ? c : ''}`,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<HostileRequest>(
      { method: 'GET', path: `/jobs?type=${'a'.repeat(100_000)}` },
      { method: 'GET', path: `/${'x'.repeat(20_000)}` },
      { method: 'DELETE', path: '/jobs' },
      { method: 'PUT', path: '/jobs/EXISTING', body: '{}' },
      { method: 'GET', path: '/workers' },
      { method: 'GET', path: '/health' },
      { method: 'POST', path: '/jobs', body: '{"type":"noop"}', key: null },
      { method: 'POST', path: '/jobs', body: '{"type":"noop"}', key: 'wrong' },
      { method: 'PATCH', path: '/jobs/EXISTING/cancel', key: `${KEY}x` },
      { method: 'GET', path: '/jobs/%' },
      { method: 'GET', path: '/health/live' },
      { method: 'GET', path: '/health/ready' },
      { method: 'GET', path: '/queues' },
      { method: 'PATCH', path: '/queues/noop', body: '{"paused":false}', key: KEY },
      { method: 'PUT', path: '/schedules/EXISTING_SCHEDULE', body: '{"cron":"* * * * *","job":{"type":"noop"}}', key: KEY },
      { method: 'POST', path: '/schedules/EXISTING_SCHEDULE/trigger', key: 'wrong' },
      { method: 'DELETE', path: '/schedules/EXISTING_SCHEDULE', key: null },
      ...REGRESSIONS,
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(badId, bodyOf(fc.constant('{}')), contentType, anyKey).map(([id, body, type, key]) => ({ method: 'POST', path: `/jobs/${id}/retry`, body, contentType: type, key })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom('cancel', 'retry'), bodyOf(bulkText), contentType, anyKey).map(([action, body, type, key]) => ({
      method: 'POST',
      path: `/jobs/bulk/${action}`,
      body,
      contentType: type,
      key,
    })),
  },
  { weight: 1, arbitrary: fc.tuple(badId, anyKey).map(([id, key]) => ({ method: 'DELETE', path: `/jobs/${id}`, key })) },
  { weight: 1, arbitrary: fc.tuple(fc.oneof(fc.constantFrom(...TYPES), badName), fc.oneof(fc.constant(''), listQuery.map((q) => `?${q}`))).map(([type, q]) => ({ method: 'GET', path: `/queues/${type}${q}` })) },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.oneof(fc.constantFrom(...TYPES), badName),
      bodyOf(fc.oneof(queueText, queueText.map((more) => `{"paused":false${more === '{}' ? '' : `,${more.slice(1, -1)}`}}`))),
      contentType,
      fc.constantFrom<string | undefined>(undefined, ADMIN_KEY, ADMIN_KEY),
    ).map(([type, body, t, key]) => ({
      method: 'PATCH',
      path: `/queues/${type}`,
      body,
      contentType: t,
      key,
    })),
  },
  { weight: 3, arbitrary: fc.tuple(bodyOf(fc.oneof(scheduleText, nearlyValidSchedule)), contentType, anyKey).map(([body, type, key]) => ({ method: 'POST', path: '/schedules', body, contentType: type, key })) },
  { weight: 1, arbitrary: listQuery.map((q) => ({ method: 'GET', path: `/schedules?${q}` })) },
  {
    weight: 3,
    arbitrary: fc.tuple(badName, bodyOf(fc.oneof(scheduleText, nearlyValidSchedule.map((b) => b.replace(/"name":"[^"]*",/, '')))), contentType, anyKey).map(([name, body, type, key]) => ({ method: 'PUT', path: `/schedules/${name}`, body, contentType: type, key })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(badName, bodyOf(scheduleText), contentType, anyKey).map(([name, body, type, key]) => ({ method: 'PATCH', path: `/schedules/${name}`, body, contentType: type, key })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(badName, fc.constantFrom('GET', 'DELETE', 'POST'), previewQuery, anyKey).map(([name, method, preview, key]) => ({
      method,
      path: method === 'POST' ? `/schedules/${name}/trigger` : `/schedules/${name}${method === 'GET' ? preview : ''}`,
      key,
    })),
  },
  { weight: 1, arbitrary: workersQuery.map((q) => ({ method: 'GET', path: `/workers?${q}` })) },
  { weight: 2, arbitrary: fc.constant(null).chain(() => fc.constantFrom(...documented).chain(fromDocument)) },
);

// ---- the property ------------------------------------------------------------------------------

const STACK_TRACE = /\n\s+at\s|\bat [^\s]+ \(|\.(ts|js):\d+:\d+|node_modules|TypeORMError|QueryFailedError/;

const substitute = (text: string) =>
  text.replaceAll('EXISTING_SCHEDULE_ID', existingScheduleId).replaceAll('EXISTING_SCHEDULE', 'hostile-fixture').replaceAll('EXISTING', existingId);

/** Sends one request and checks the properties every answer must have. */
async function check(generated: HostileRequest, stats: { requests: number; byStatus: Map<number, number> }): Promise<void> {
  const concrete: HostileRequest = {
    ...generated,
    path: substitute(generated.path),
    body: generated.body === undefined ? undefined : substitute(generated.body).replace('BIG', () => fc.sample(bigArray, 1)[0]!),
  };
  const before = await countRows();
  const { status, text } = await send(concrete);
  stats.requests += 1;
  stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
  const what = `${concrete.method} ${concrete.path.slice(0, 200)} ${concrete.body?.slice(0, 300) ?? ''} -> ${status} ${text.slice(0, 500)}`;
  expect([what, status < 500]).toEqual([what, true]);
  expect([what, STACK_TRACE.test(text)]).toEqual([what, false]);
  if (status >= 400 && status < 500) {
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    expect([what, typeof code === 'string' && code.length > 0]).toEqual([what, true]);
  }
  if (status >= 400) expect([what, await countRows()]).toEqual([what, before]);
}

describe('hostile requests', () => {
  it('every documented operation gets hostile requests', async () => {
    const stats = { requests: 0, byStatus: new Map<number, number>() };
    // A fixed sweep, so that an operation added to the document is exercised even by an unlucky run.
    for (const fixed of REGRESSIONS) await check(fixed, stats);
    const covered = new Set<string>();
    for (const operation of documented) {
      for (const generated of fc.sample(fromDocument(operation), { numRuns: 3, seed: 7 })) {
        await check(generated, stats);
        covered.add(generated.template!);
      }
    }
    expect(documented.map((o) => `${o.method} ${o.template}`).filter((o) => !covered.has(o))).toEqual([]);
    // The hand-written generators name these operations; each must still be a documented one.
    const named = [
      'POST /jobs', 'POST /jobs/batch', 'GET /jobs', 'GET /jobs/{id}', 'GET /jobs/{id}/graph', 'GET /jobs/{id}/logs', 'PATCH /jobs/{id}/cancel',
      'POST /jobs/{id}/retry', 'DELETE /jobs/{id}', 'POST /jobs/bulk/cancel', 'POST /jobs/bulk/retry', 'GET /queues', 'GET /queues/{type}',
      'PATCH /queues/{type}', 'POST /schedules', 'GET /schedules', 'PUT /schedules/{name}', 'POST /schedules/{key}/trigger',
      'GET /workers', 'GET /health/live', 'GET /health/ready',
    ];
    const all = new Set(documented.map((o) => `${o.method} ${o.template}`));
    expect(named.filter((o) => !all.has(o))).toEqual([]);
  }, 30_000);

  it('never get a 5xx or a stack trace, and a refused one writes nothing', async () => {
    const stats = { requests: 0, byStatus: new Map<number, number>() };
    await fc.assert(
      fc.asyncProperty(request, async (generated) => check(generated, stats)),
      {
        numRuns: 2000,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
        seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED),
      },
    );
    // Enough of a run to mean something, even on a slow machine.
    expect(stats.requests).toBeGreaterThanOrEqual(100);
    expect(stats.byStatus.get(400) ?? 0).toBeGreaterThan(0);
  }, TIME_LIMIT_MS + 20_000);

  it('never logs an API key', () => {
    // Every line written during the run, and the last ones kept from before it (the boot).
    const all = [api.output(), ...logLines].join('\n');
    expect(all).toMatch(/listening on/);
    expect(all).not.toContain(KEY);
    expect(all).not.toContain(ADMIN_KEY);
  });
});
