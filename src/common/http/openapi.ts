/**
 * The OpenAPI document and Swagger UI at /docs (JSON at /docs-json). The document is built on its
 * first request, once every job type has registered, so that it can name them: `type` is an enum of
 * the registered types, and a submitted job is a `oneOf` over the types with a discriminator on
 * `type`, each with its payload schema, so that a client generator gets typed payloads. With no
 * API_KEYS there is nothing to authorize: no security scheme, no padlocks, no 401/403 answers.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/app-config.js';

type Schema = Record<string, any>;

/** A registered job type and the class its payload is validated against. */
export interface DocumentedJobType {
  type: string;
  payloadType?: new () => object;
}

export interface OpenApiSources {
  /** The registered job types, read when the document is first built (after every module started). */
  jobTypes: () => DocumentedJobType[];
  /** The events a Socket.IO client receives. */
  events: readonly string[];
}

/** An example id in the service's own format (UUIDv7), instead of the generic one Swagger UI would make up. */
export const EXAMPLE_JOB_ID = '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e';

/** Where a Socket.IO client connects, as seen by the client that asked for the document. */
export function streamUrlOf(headers: Record<string, string | string[] | undefined>, protocol: string, fallbackPort: number): string {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  const host = first(headers['x-forwarded-host']) || first(headers.host) || `localhost:${fallbackPort}`;
  const scheme = first(headers['x-forwarded-proto']) === 'https' || protocol === 'https' ? 'https' : 'http';
  return `${scheme}://${host}/jobs/stream`;
}

export function apiDescription(streamUrl: string, events: readonly string[]): string {
  return `
draconic runs background jobs: submit them over REST, they wait for their dependencies (a DAG) and for
worker capacity (cpu units, memory, slots), run with retries, exponential backoff and timeouts, and every
change of state is pushed live over Socket.IO.

**Live updates**: Socket.IO namespace \`/jobs/stream\` (\`io("${streamUrl}")\`), event
\`job_update\` = \`{type: "job_update", event, job_id, data}\`. Events: ${events.map((e) => `\`${e}\``).join(', ')}.

**Errors** always have the shape \`{statusCode, error, message, code}\`; validation errors (\`code: VALIDATION_FAILED\`)
add \`details: [{field, message}]\`.
`.trim();
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const pascal = (type: string) => type.replace(/(^|_)([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());

/**
 * One schema per job type for a job DTO (`SubmitJobDto`, `SubmitBatchItemDto`): the DTO with `type`
 * fixed to the type and `payload` its payload schema; returns the `oneOf` with its discriminator.
 */
function perTypeVariants(schemas: Record<string, Schema>, dto: string, jobTypes: DocumentedJobType[]): Schema | null {
  const base = schemas[dto];
  if (!base) return null;
  const mapping: Record<string, string> = {};
  for (const { type, payloadType } of jobTypes) {
    const name = `${pascal(type)}${dto.replace(/Dto$/, '')}`;
    const payload = payloadType && schemas[payloadType.name] ? ref(payloadType.name) : { type: 'object', additionalProperties: true };
    schemas[name] = {
      ...base,
      description: `${base.description ? `${base.description} ` : ''}A job of type ${type}.`,
      properties: { ...base.properties, type: { type: 'string', enum: [type] }, payload },
    };
    mapping[type] = `#/components/schemas/${name}`;
  }
  return { oneOf: Object.values(mapping).map(($ref) => ({ $ref })), discriminator: { propertyName: 'type', mapping } };
}

/** Every string schema of format uuid gets an example, so Swagger UI shows no made-up placeholder id. */
function exampleIds(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(exampleIds);
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Schema;
  if (schema.format === 'uuid' && schema.type === 'string' && schema.example === undefined) schema.example = EXAMPLE_JOB_ID;
  for (const value of Object.values(schema)) exampleIds(value);
}

/** The document's changes that depend on the registered types and on API_KEYS (pure: edits `document`). */
export function refineDocument(document: OpenAPIObject, jobTypes: DocumentedJobType[], keysRequired: boolean): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  const types = jobTypes.map((t) => t.type);
  for (const dto of ['JobFieldsDto', 'SubmitJobDto', 'SubmitBatchItemDto']) {
    const type = schemas[dto]?.properties?.type;
    if (type) Object.assign(type, { enum: types, description: `A registered job type: ${types.join(', ')}.` });
  }
  const submit = perTypeVariants(schemas, 'SubmitJobDto', jobTypes);
  const body = (document.paths['/jobs']?.post?.requestBody as Schema | undefined)?.content?.['application/json'];
  if (submit && body) body.schema = submit;
  const item = perTypeVariants(schemas, 'SubmitBatchItemDto', jobTypes);
  const jobs = schemas.SubmitBatchDto?.properties?.jobs;
  if (item && jobs) jobs.items = item;
  exampleIds(document);
  if (!keysRequired) {
    delete document.components?.securitySchemes;
    delete document.security;
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations as Record<string, Schema>)) {
        if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
        delete operation.security;
        delete operation.responses['401'];
        delete operation.responses['403'];
      }
    }
  }
  return document;
}

/** Serves Swagger UI at /docs and the document at /docs-json. Call before `app.init()`. */
export function setupOpenApi(app: NestFastifyApplication, config: AppConfig, sources: OpenApiSources): void {
  const keysRequired = config.apiKeys.length > 0;
  const build = () => {
    const jobTypes = sources.jobTypes();
    const builder = new DocumentBuilder().setTitle('draconic').setDescription(apiDescription(`http://localhost:${config.port}/jobs/stream`, sources.events)).setVersion('0.1.0');
    if (keysRequired) {
      builder.addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A key of API_KEYS (or send "Authorization: Bearer <key>").' }, 'api_key');
    }
    const extraModels = jobTypes.flatMap((t) => (t.payloadType ? [t.payloadType] : []));
    return refineDocument(SwaggerModule.createDocument(app, builder.build(), { extraModels }), jobTypes, keysRequired);
  };
  SwaggerModule.setup('docs', app, build, {
    jsonDocumentUrl: 'docs-json',
    // No validator badge: it would load an image from another site (refused by the CSP anyway).
    swaggerOptions: { validatorUrl: null },
    // The Socket.IO address in the description is the one the reader reached the service at.
    patchDocumentOnRequest: <TRequest>(request: TRequest, _reply: unknown, document: OpenAPIObject) => {
      const { headers, protocol } = request as unknown as FastifyRequest;
      return { ...document, info: { ...document.info, description: apiDescription(streamUrlOf(headers, protocol, config.port), sources.events) } };
    },
  });
}
