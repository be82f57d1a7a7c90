import { describe, expect, it } from '@jest/globals';
import type { OpenAPIObject } from '@nestjs/swagger';
import { EXAMPLE_JOB_ID, refineDocument, streamUrlOf } from './openapi.js';

describe(streamUrlOf.name, () => {
  it.each([
    [{ host: '127.0.0.1:9001' }, 'http', 'http://127.0.0.1:9001/jobs/stream'],
    [{ host: 'jobs.example.com' }, 'https', 'https://jobs.example.com/jobs/stream'],
    [{ host: '10.0.0.5:8000', 'x-forwarded-host': 'jobs.example.com', 'x-forwarded-proto': 'https' }, 'http', 'https://jobs.example.com/jobs/stream'],
    [{ 'x-forwarded-host': 'a.example.com, b.example.com' }, 'http', 'http://a.example.com/jobs/stream'],
    [{}, 'http', 'http://localhost:8000/jobs/stream'],
  ])('%j over %s -> %s', (headers, protocol, url) => {
    expect(streamUrlOf(headers, protocol, 8000)).toBe(url);
  });
});

class NoopPayload {}

const documentWith = (): OpenAPIObject => ({
  openapi: '3.0.0',
  info: { title: 't', version: '1' },
  components: {
    securitySchemes: { api_key: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
    schemas: {
      SubmitJobDto: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, depends_on: { type: 'array', items: { type: 'string', format: 'uuid' } } } },
      NoopPayload: { type: 'object', properties: { duration_ms: { type: 'integer' } } },
    },
  },
  paths: {
    '/jobs': {
      post: {
        security: [{ api_key: [] }],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/SubmitJobDto' } } } },
        responses: { '201': { description: 'ok' }, '401': { description: 'no key' }, '403': { description: 'role' } },
      },
    },
  },
});

describe(refineDocument.name, () => {
  const types = [{ type: 'noop', payloadType: NoopPayload }, { type: 'plain' }];

  it('makes type an enum and the submit body a oneOf over the types, discriminated by type', () => {
    const doc = refineDocument(documentWith(), types, true);
    const schemas = doc.components!.schemas as Record<string, any>;
    expect(schemas.SubmitJobDto.properties.type.enum).toEqual(['noop', 'plain']);
    expect((doc.paths['/jobs'].post!.requestBody as any).content['application/json'].schema).toEqual({
      oneOf: [{ $ref: '#/components/schemas/NoopSubmitJob' }, { $ref: '#/components/schemas/PlainSubmitJob' }],
      discriminator: { propertyName: 'type', mapping: { noop: '#/components/schemas/NoopSubmitJob', plain: '#/components/schemas/PlainSubmitJob' } },
    });
    expect(schemas.NoopSubmitJob.properties).toMatchObject({ type: { enum: ['noop'] }, payload: { $ref: '#/components/schemas/NoopPayload' } });
    expect(schemas.PlainSubmitJob.properties.payload).toEqual({ type: 'object', additionalProperties: true });
    expect(schemas.NoopSubmitJob.required).toEqual(['type']);
  });

  it('gives every uuid an example id', () => {
    const doc = refineDocument(documentWith(), types, true);
    expect((doc.components!.schemas as any).SubmitJobDto.properties.depends_on.items.example).toBe(EXAMPLE_JOB_ID);
  });

  it('keeps the security scheme, padlocks and 401/403 when keys are required', () => {
    const doc = refineDocument(documentWith(), types, true);
    expect(doc.components!.securitySchemes).toBeDefined();
    expect(doc.paths['/jobs'].post!.security).toEqual([{ api_key: [] }]);
    expect(Object.keys(doc.paths['/jobs'].post!.responses)).toEqual(['201', '401', '403']);
  });

  it('drops them when the API is open', () => {
    const doc = refineDocument(documentWith(), types, false);
    expect(doc.components!.securitySchemes).toBeUndefined();
    expect(doc.paths['/jobs'].post!.security).toBeUndefined();
    expect(Object.keys(doc.paths['/jobs'].post!.responses)).toEqual(['201']);
  });
});
