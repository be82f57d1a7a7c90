import { applyDecorators, HttpCode, type Type } from '@nestjs/common';
import { ApiOkResponse, ApiCreatedResponse, ApiOperation, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { BODY_TOO_LARGE, JOB_ALREADY_FINISHED, JOB_NOT_FOUND, OVERLOADED, RATE_LIMITED, ROLE_NOT_ALLOWED, UNAUTHORIZED, UNKNOWN_DEPENDENCY, UNSUPPORTED_MEDIA_TYPE, VALIDATION_FAILED } from '../domain/error-codes.js';

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input: validation failed, unknown field, unknown type, bad payload, requirements over the limits or malformed id.',
  401: 'Missing or wrong API key (when API_KEYS is set).',
  403: "The key's role may not do this (ROLE_NOT_ALLOWED): read < operate < admin. Or a change sent by a browser page of another origin than the service's and CORS_ORIGINS (CROSS_SITE_REQUEST).",
  404: 'No job with this id (JOB_NOT_FOUND).',
  409: 'The job already finished (JOB_ALREADY_FINISHED): there is nothing to cancel.',
  413: 'Body over MAX_BODY_BYTES (a compressed one counted as decoded).',
  415: 'The body is not sent as Content-Type: application/json, or with a Content-Encoding other than gzip, deflate or br (UNSUPPORTED_CONTENT_ENCODING).',
  422: 'depends_on names an unknown job, or the dependencies form a cycle.',
  429: 'Over the rate limit of the key (or address): see Retry-After.',
  503: 'Too many submissions in flight (OVERLOADED, see Retry-After), a dependency (PostgreSQL or Redis) is down, or PostgreSQL gave up a statement after DB_QUERY_TIMEOUT_MS (QUERY_TIMEOUT).',
};

const ERROR_EXAMPLE: Record<number, { error: string; message: string; code: string; details?: Array<{ field: string; message: string }> }> = {
  400: { error: 'Bad Request', message: 'type is required', code: VALIDATION_FAILED, details: [{ field: 'type', message: 'type is required' }] },
  401: { error: 'Unauthorized', message: 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"', code: UNAUTHORIZED },
  403: { error: 'Forbidden', message: 'key "dashboard" has role read; POST /jobs needs operate', code: ROLE_NOT_ALLOWED },
  404: { error: 'Not Found', message: 'job 019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e not found', code: JOB_NOT_FOUND },
  409: { error: 'Conflict', message: 'job 019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e is already completed and cannot be cancelled', code: JOB_ALREADY_FINISHED },
  413: { error: 'Payload Too Large', message: 'request body is larger than the allowed maximum (MAX_BODY_BYTES)', code: BODY_TOO_LARGE },
  415: {
    error: 'Unsupported Media Type',
    message: 'the request body was sent as "application/x-www-form-urlencoded", which is what curl -d sends unless told otherwise: send the body as JSON with the header "Content-Type: application/json"',
    code: UNSUPPORTED_MEDIA_TYPE,
  },
  429: { error: 'Too Many Requests', message: 'too many requests: at most 1000 per 10000 ms for this key (or address); retry in 3 s', code: RATE_LIMITED },
  422: { error: 'Unprocessable Entity', message: 'depends_on names unknown job: 019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5f', code: UNKNOWN_DEPENDENCY },
  503: { error: 'Service Unavailable', message: '256 submissions are being handled, the most at once (MAX_SUBMITS_IN_FLIGHT); retry shortly', code: OVERLOADED },
};

/** An error answer of one route, in its own words, where the shared text of its status would mislead. */
export interface RouteError {
  status: number;
  /** What the status means on this route; name every code it can carry. */
  text: string;
  code: string;
  message: string;
}

export interface ApiEndpointOptions {
  summary: string;
  description?: string;
  ok?: Type<unknown>;
  created?: Type<unknown>;
  /** Also documents a 200 with the `created` type (idempotent repeat). */
  okToo?: string;
  /** Error statuses, described by the shared text of each, or by the route's own (RouteError). 401, 403 and 429 always. */
  errors?: Array<number | RouteError>;
  status?: number;
}

/** One decorator per endpoint for its Swagger description and status, instead of a tower of decorators. */
export function ApiEndpoint(options: ApiEndpointOptions): MethodDecorator {
  const decorators: Array<MethodDecorator | ClassDecorator> = [
    ApiOperation({ summary: options.summary, description: options.description }),
    ApiSecurity('api_key'),
  ];
  if (options.created) {
    decorators.push(ApiCreatedResponse({ type: options.created }));
    if (options.okToo) decorators.push(ApiOkResponse({ type: options.created, description: options.okToo }));
  }
  if (options.ok) decorators.push(ApiOkResponse({ type: options.ok }));
  if (options.status) decorators.push(HttpCode(options.status));
  const own = new Map((options.errors ?? []).filter((e): e is RouteError => typeof e === 'object').map((e) => [e.status, e]));
  const statuses = [...new Set([...(options.errors ?? []).map((e) => (typeof e === 'number' ? e : e.status)), 401, 403, 429])];
  for (const status of statuses) {
    const route = own.get(status);
    const example = route ? { error: ERROR_EXAMPLE[status]?.error, message: route.message, code: route.code } : ERROR_EXAMPLE[status];
    decorators.push(
      ApiResponse({
        status,
        description: route?.text ?? ERROR_TEXT[status],
        schema: {
          type: 'object',
          properties: {
            statusCode: { type: 'integer', example: status },
            error: { type: 'string', example: example?.error },
            message: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: example?.message },
            code: { type: 'string', example: example?.code, description: 'Machine-readable and stable, e.g. VALIDATION_FAILED, JOB_NOT_FOUND, ROLE_NOT_ALLOWED, RATE_LIMITED.' },
            details: {
              type: 'array',
              example: route ? undefined : ERROR_EXAMPLE[status]?.details,
              description: 'Validation errors: one entry per field.',
              items: { type: 'object', properties: { field: { type: 'string', example: 'payload.url' }, message: { type: 'string' } } },
            },
          },
        },
      }),
    );
  }
  return applyDecorators(...decorators) as MethodDecorator;
}
