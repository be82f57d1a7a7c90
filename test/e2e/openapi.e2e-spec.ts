import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';

/** The OpenAPI document at /docs-json, as a first tool: what Swagger UI and client generators read. */
let app: TestApp;
let doc: any;

const BUILT_IN_TYPES = ['data_export', 'data_fetch', 'data_processing', 'noop', 'report_generation', 'send_email'];

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('openapi'));
  const response = await fetch(`${app.baseUrl}/docs-json`);
  expect(response.status).toBe(200);
  doc = await response.json();
});

afterAll(async () => {
  await app?.close();
});

const schemaOf = (ref: string) => doc.components.schemas[ref.replace('#/components/schemas/', '')];

/** Every operation of the document, with its path and method. */
const operations = () =>
  Object.entries<Record<string, any>>(doc.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, operation]) => ({ path, method, operation })));

describe('the OpenAPI document', () => {
  it('names the Socket.IO address the reader reached the service at', async () => {
    expect(doc.info.description).toContain(`io("${app.baseUrl}/jobs/stream")`);
    const elsewhere = await app.app.inject({ method: 'GET', url: '/docs-json', headers: { host: 'jobs.example.com:9000', 'x-forwarded-proto': 'https' } });
    expect(elsewhere.json().info.description).toContain('io("https://jobs.example.com:9000/jobs/stream")');
  });

  it('makes type an enum of the registered job types', () => {
    for (const dto of ['SubmitJobDto', 'SubmitBatchItemDto']) expect(doc.components.schemas[dto].properties.type.enum).toEqual(BUILT_IN_TYPES);
  });

  it('gives string constraints only to strings: no property typed object with a length, pattern or format', () => {
    const mistyped: string[] = [];
    const walk = (schema: any, where: string) => {
      if (!schema || typeof schema !== 'object') return;
      if (schema.type === 'object' && ['maxLength', 'minLength', 'pattern', 'format'].some((k) => k in schema)) mistyped.push(where);
      for (const [name, property] of Object.entries<any>(schema.properties ?? {})) walk(property, `${where}.${name}`);
      if (schema.items) walk(schema.items, `${where}[]`);
    };
    for (const [name, schema] of Object.entries<any>(doc.components.schemas)) walk(schema, name);
    expect(mistyped).toEqual([]);
    for (const dto of ['SubmitJobDto', 'SubmitBatchItemDto', 'NoopSubmitJob']) {
      expect(doc.components.schemas[dto].properties.concurrency_key).toMatchObject({ type: 'string', nullable: true, maxLength: 200 });
    }
  });

  it('types each payload by job type: a oneOf with a discriminator on type, for single and batch submits', () => {
    const single = doc.paths['/jobs'].post.requestBody.content['application/json'].schema;
    const batchItem = doc.components.schemas.SubmitBatchDto.properties.jobs.items;
    for (const union of [single, batchItem]) {
      expect(union.discriminator.propertyName).toBe('type');
      expect(Object.keys(union.discriminator.mapping).sort()).toEqual(BUILT_IN_TYPES);
      expect(union.oneOf.map((o: { $ref: string }) => o.$ref).sort()).toEqual(Object.values(union.discriminator.mapping).sort());
      for (const [type, ref] of Object.entries<string>(union.discriminator.mapping)) {
        const variant = schemaOf(ref);
        expect(variant.properties.type.enum).toEqual([type]);
        expect(variant.required).toContain('type');
        expect(variant.properties.payload.$ref).toMatch(/Payload$/);
        expect(Object.keys(schemaOf(variant.properties.payload.$ref).properties).length).toBeGreaterThan(0);
      }
    }
    const exportPayload = doc.components.schemas.DataExportPayload;
    expect(exportPayload.properties.format.enum).toEqual(['csv', 'json', 'ndjson']);
    expect(exportPayload.required).toEqual(['format']);
    expect(doc.components.schemas.SendEmailPayload.required.sort()).toEqual(['subject', 'to']);
    expect(doc.components.schemas.DataFetchPayload.properties.method.enum).toContain('POST');
  });

  it('shows no Authorize button, no padlock and no 401 or 403 when API_KEYS is empty', () => {
    expect(doc.components.securitySchemes).toBeUndefined();
    for (const { path, method, operation } of operations()) {
      expect([`${method} ${path}`, operation.security]).toEqual([`${method} ${path}`, undefined]);
      expect(Object.keys(operation.responses)).not.toEqual(expect.arrayContaining(['401']));
      expect(Object.keys(operation.responses)).not.toEqual(expect.arrayContaining(['403']));
    }
  });

  it('documents a success answer for every operation', () => {
    for (const { path, method, operation } of operations()) {
      expect([`${method} ${path}`, Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status))]).toEqual([`${method} ${path}`, true]);
    }
  });

  it('names, for each 404 and 409, a code that route answers: the schedule’s and the queue’s own, not a job’s', () => {
    const codeOf = (response: any) => response?.content?.['application/json']?.schema?.properties?.code?.example;
    for (const { path, method, operation } of operations()) {
      for (const status of ['404', '409']) {
        const response = operation.responses[status];
        if (!response) continue;
        const code = codeOf(response);
        const where = `${method} ${path} ${status}`;
        expect([where, response.description]).toEqual([where, expect.stringContaining(code)]);
        if (/^\/(schedules|queues)/.test(path)) expect([where, code]).toEqual([where, expect.stringMatching(/^(SCHEDULE|QUEUE|TICK)_/)]);
      }
    }
    expect(codeOf(doc.paths['/jobs/{id}/retry'].post.responses['409'])).toBe('JOB_NOT_RETRYABLE');
    expect(doc.paths['/jobs/{id}'].delete.responses['409'].description).toContain('JOB_HAS_UNFINISHED_DEPENDENTS');
  });

  it('has no made-up placeholder in its examples', () => {
    // Swagger UI makes up 3fa85f64-… for a uuid without an example: every uuid has one.
    const missing: string[] = [];
    const examples: string[] = [];
    const walk = (node: any, at: string) => {
      if (typeof node !== 'object' || node === null) return;
      if (node.format === 'uuid' && node.example === undefined) missing.push(at);
      for (const [key, value] of Object.entries(node)) {
        if (key === 'example' || key === 'examples') examples.push(JSON.stringify(value));
        walk(value, `${at}.${key}`);
      }
    };
    walk(doc, '');
    expect(missing).toEqual([]);
    expect(examples.length).toBeGreaterThan(50);
    const placeholders = examples.filter((text) => /3fa85f64|\.\.\.|<[a-z ]+>|known types/.test(text));
    expect(placeholders).toEqual([]);
  });

  it('describes in each batch example what it submits', () => {
    const { examples } = doc.paths['/jobs/batch'].post.requestBody.content['application/json'];
    expect(examples.pipeline.summary).toMatch(/data_processing.*CSV.*report/);
    expect(examples.pipeline.value.jobs.map((j: { type: string }) => j.type)).toEqual(['data_processing', 'data_export', 'report_generation']);
    expect(examples.diamond.summary).toMatch(/no-ops/);
    expect(examples.diamond.value.jobs.every((j: { type: string }) => j.type === 'noop')).toBe(true);
  });
});

describe('the examples', () => {
  const examplesOf = (path: string) => Object.entries<{ value: unknown }>(doc.paths[path].post.requestBody.content['application/json'].examples);

  it('run as shown: every POST /jobs example submits a job that completes', async () => {
    for (const [name, { value }] of examplesOf('/jobs')) {
      const response = await app.post('/jobs', value);
      expect([name, response.status]).toEqual([name, 201]);
      const delayed = value as { run_at?: string; delay_ms?: number };
      const startsAt = delayed.run_at !== undefined ? Date.parse(delayed.run_at) : Date.now() + (delayed.delay_ms ?? 0);
      if (startsAt > Date.now() + 20_000) {
        // A delayed example waits for its time (DESIGN §10): pending, and saying until when.
        const job = await app.getJob(response.body.id);
        expect([name, job.status, job.waiting_reason?.code]).toEqual([name, 'pending', 'SCHEDULED']);
        continue;
      }
      await expectEventually(async () => expect([name, (await app.getJob(response.body.id)).status]).toEqual([name, 'completed']), { timeoutMs: 20_000 });
    }
  });

  it('run as shown: every POST /jobs/batch example submits jobs that all complete', async () => {
    for (const [name, { value }] of examplesOf('/jobs/batch')) {
      const response = await app.post('/jobs/batch', value);
      expect([name, response.status]).toEqual([name, 201]);
      for (const item of response.body.items as Array<{ id: string }>) {
        await expectEventually(async () => expect([name, (await app.getJob(item.id)).status]).toEqual([name, 'completed']), { timeoutMs: 20_000 });
      }
    }
  });

  it('run as shown: the examples of the other operations without path parameters are accepted', async () => {
    const tried: string[] = [];
    for (const { path, method, operation } of operations()) {
      const examples = operation.requestBody?.content?.['application/json']?.examples;
      if (!examples || path.includes('{') || path === '/jobs' || path === '/jobs/batch') continue;
      for (const [name, { value }] of Object.entries<{ value: unknown }>(examples)) {
        const response = await app.request(method.toUpperCase(), path, value);
        // The success status the operation documents (201 for a create, 200 otherwise).
        const success = Number(Object.keys(operation.responses ?? {}).find((code) => code.startsWith('2')) ?? 200);
        expect([`${method} ${path} ${name}`, response.status]).toEqual([`${method} ${path} ${name}`, success]);
        tried.push(`${method} ${path} ${name}`);
      }
    }
    expect(tried.length).toBeGreaterThan(0);
  });
});

describe('the OpenAPI document with API_KEYS set', () => {
  it('offers the key as a security scheme on every operation that needs one', async () => {
    const secured = await startTestApp(await createTestSpace('openapi_keys'), { API_KEYS: 'ops:0123456789abcdef:admin' });
    try {
      const keyed = (await secured.get('/docs-json')).body;
      expect(Object.keys(keyed.components.securitySchemes)).toEqual(['api_key']);
      expect(keyed.paths['/jobs'].post.security).toEqual([{ api_key: [] }]);
      expect(Object.keys(keyed.paths['/jobs'].post.responses)).toEqual(expect.arrayContaining(['401', '403']));
    } finally {
      await secured.close();
    }
  });
});
