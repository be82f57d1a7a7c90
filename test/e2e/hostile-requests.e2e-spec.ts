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
const TIME_LIMIT_MS = 40_000;

let space: TestSpace;
let api: ApiProcess;
let db: pg.Client;
const logLines: string[] = [];
let stopListening: () => void = () => undefined;
let existingId = '';

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
  (await db.query(`SELECT (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM job_dependencies)::int AS edges`)).rows[0] as {
    jobs: number;
    edges: number;
  };

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
    ),
  },
);

// ---- the property ------------------------------------------------------------------------------

const STACK_TRACE = /\n\s+at\s|\bat [^\s]+ \(|\.(ts|js):\d+:\d+|node_modules|TypeORMError|QueryFailedError/;

describe('hostile requests', () => {
  it('never get a 5xx or a stack trace, and a refused one writes nothing', async () => {
    const stats = { requests: 0, byStatus: new Map<number, number>() };
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const concrete: HostileRequest = {
          ...generated,
          path: generated.path.replace('EXISTING', existingId),
          body: generated.body?.replace('BIG', () => fc.sample(bigArray, 1)[0]!),
        };
        const before = await countRows();
        const { status, text } = await send(concrete);
        stats.requests += 1;
        stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
        const what = `${concrete.method} ${concrete.path.slice(0, 200)} ${concrete.body?.slice(0, 300) ?? ''} -> ${status} ${text.slice(0, 500)}`;
        expect([what, status < 500]).toEqual([what, true]);
        expect([what, STACK_TRACE.test(text)]).toEqual([what, false]);
        if (status >= 400) expect([what, await countRows()]).toEqual([what, before]);
      }),
      {
        numRuns: 1000,
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
