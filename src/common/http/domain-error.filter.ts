import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BAD_REQUEST, BODY_TOO_LARGE, CONFLICT, EMPTY_BODY, FORBIDDEN, FORBIDDEN_JSON_KEY, INTERNAL_ERROR, INVALID_CONTENT_LENGTH, INVALID_JSON, METHOD_NOT_ALLOWED, NOT_FOUND, RATE_LIMITED, REQUEST_ABORTED, REQUEST_TIMEOUT, SERVICE_UNAVAILABLE, UNAUTHORIZED, UNPROCESSABLE, UNSUPPORTED_MEDIA_TYPE, PRECONDITION_FAILED, RANGE_NOT_SATISFIABLE } from '../domain/error-codes.js';
import { ConflictError, DependencyUnavailableError, DomainError, QueryTimeoutError, type DomainErrorKind } from '../errors/domain-error.js';
import { EMPTY_BODY_MESSAGE } from './json-body-parser.js';
import { isLostRace, isOverTime, unavailableDependencyOf } from './unavailable-errors.js';

const STATUS: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  method_not_allowed: HttpStatus.METHOD_NOT_ALLOWED,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unsupported_media: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  too_many_requests: HttpStatus.TOO_MANY_REQUESTS,
  overloaded: HttpStatus.SERVICE_UNAVAILABLE,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The code of an error that carries none of its own (a Nest HttpException, such as an unknown route). */
const CODE: Record<number, string> = {
  400: BAD_REQUEST,
  401: UNAUTHORIZED,
  403: FORBIDDEN,
  404: NOT_FOUND,
  405: METHOD_NOT_ALLOWED,
  408: REQUEST_TIMEOUT,
  409: CONFLICT,
  412: PRECONDITION_FAILED,
  413: BODY_TOO_LARGE,
  415: UNSUPPORTED_MEDIA_TYPE,
  416: RANGE_NOT_SATISFIABLE,
  422: UNPROCESSABLE,
  429: RATE_LIMITED,
  503: SERVICE_UNAVAILABLE,
};

/** Fastify's body and URL errors, by their code. */
const FASTIFY_CODE: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_BODY_TOO_LARGE: BODY_TOO_LARGE,
  FST_ERR_CTP_EMPTY_JSON_BODY: EMPTY_BODY,
  FST_ERR_CTP_INVALID_JSON_BODY: INVALID_JSON,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: INVALID_CONTENT_LENGTH,
};

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code: string;
  [extra: string]: unknown;
}

/**
 * Fastify errors (body parsing, body limit, content type, bad URL) carry a statusCode and a code; the
 * static files' errors (a range or precondition a file cannot meet: 416, 412) are `http-errors` with a
 * statusCode and `expose`.
 */
function fromFastifyError(error: unknown): ErrorBody | null {
  if (typeof error !== 'object' || error === null) return null;
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown; name?: unknown; expose?: unknown };
  if (typeof e.statusCode !== 'number' || e.statusCode < 400 || e.statusCode >= 500) return null;
  // Fastify's own errors have an FST_ code; its JSON parser passes on the parser's SyntaxError with a 400.
  const isJsonSyntax = e.name === 'SyntaxError' && e.statusCode === 400;
  if (!isJsonSyntax && e.expose !== true && !(typeof e.code === 'string' && e.code.startsWith('FST_'))) return null;
  let message = typeof e.message === 'string' ? e.message : 'bad request';
  let code = FASTIFY_CODE[String(e.code)] ?? CODE[e.statusCode] ?? BAD_REQUEST;
  if (code === UNSUPPORTED_MEDIA_TYPE) {
    message = 'unsupported content type: send the body as JSON with the header "Content-Type: application/json"';
  }
  if (code === EMPTY_BODY) message = EMPTY_BODY_MESSAGE;
  if (code === INVALID_JSON || isJsonSyntax) {
    code = /prototype/.test(message) ? FORBIDDEN_JSON_KEY : INVALID_JSON;
    message = `request body is not valid JSON: ${message}`;
  }
  return { statusCode: e.statusCode, error: REASON[e.statusCode] ?? 'Bad Request', message, code };
}

/**
 * A PostgreSQL or Redis connection failure (refused, reset, timed out, pool exhausted) that reached
 * the filter as it was thrown: a 503 with Retry-After, never a 500.
 */
function asUnavailable(exception: unknown): DependencyUnavailableError | QueryTimeoutError | null {
  if (exception instanceof DomainError || exception instanceof HttpException) return null;
  if (isOverTime(exception)) return new QueryTimeoutError(reasonOf(exception));
  const dependency = unavailableDependencyOf(exception);
  if (!dependency) return null;
  return new DependencyUnavailableError(dependency, 1, reasonOf(exception));
}

/** The driver's words for what happened, except TypeORM's own about its query runner, which say nothing to a client. */
function reasonOf(exception: unknown): string | undefined {
  if (!(exception instanceof Error)) return undefined;
  if (exception.name === 'QueryRunnerAlreadyReleasedError') return 'the connection ended during the request';
  return exception.message;
}

/**
 * A transaction that lost a deadlock or a serialization race as many times as it was run again
 * (retryLostRaces): nothing was written, and sending the request again is the answer.
 */
function asLostRace(exception: unknown): ConflictError | null {
  if (exception instanceof DomainError || exception instanceof HttpException) return null;
  const driverError = (exception as { driverError?: unknown } | null)?.driverError;
  if (!isLostRace(exception) && !isLostRace(driverError)) return null;
  return new ConflictError('the request met concurrent changes to the same jobs and was not carried out: send it again');
}

/** The error of a request whose client went away while its body was being read. */
function clientAborted(thrown: unknown, request: FastifyRequest | undefined): boolean {
  const raw = request?.raw as { aborted?: boolean; readableAborted?: boolean } | undefined;
  if (!raw || !(raw.aborted === true || raw.readableAborted === true)) return false;
  return thrown instanceof Error && thrown.message === 'aborted' && (thrown as { code?: unknown }).code === 'ECONNRESET';
}

/**
 * The one error filter: DomainErrors, Nest HttpExceptions and Fastify's own errors all leave in
 * DESIGN §6's shape `{statusCode, error, message}` plus a machine-readable `code` (and the error's
 * details); anything else is a 500 with no detail. Errors with a retry delay set Retry-After.
 */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(DomainErrorFilter.name);

  catch(thrown: unknown, host: ArgumentsHost): void {
    if (clientAborted(thrown, host.switchToHttp().getRequest<FastifyRequest | undefined>())) {
      // Node's "aborted" (ECONNRESET) while the body was read: the client left, no dependency failed.
      this.logger.debug('the client closed its connection before its request body arrived');
      const reply = host.switchToHttp().getResponse<FastifyReply>();
      if (typeof reply?.status === 'function' && !reply.sent) {
        reply.status(400).send({ statusCode: 400, error: 'Bad Request', message: 'the request body did not arrive: the client closed the connection', code: REQUEST_ABORTED });
      }
      return;
    }
    const unavailable = asUnavailable(thrown);
    if (unavailable) this.logger.warn({ err: (thrown as Error).message, code: unavailable.code }, 'a dependency is unavailable: answering 503');
    const lostRace = unavailable ? null : asLostRace(thrown);
    if (lostRace) this.logger.warn({ err: (thrown as Error).message }, 'a transaction lost to concurrent changes every time it ran: answering 409');
    const exception = unavailable ?? lostRace ?? thrown;
    const body = this.toBody(exception);
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    if (typeof reply?.status !== 'function') return; // not HTTP (e.g. a websocket context)
    const retryAfter = exception instanceof DomainError ? (exception as { retryAfterSeconds?: unknown }).retryAfterSeconds : undefined;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    for (const [name, value] of exposedHeaders(exception)) void reply.header(name, value);
    reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  toBody(exception: unknown): ErrorBody {
    const body = this.describe(exception);
    if (body.statusCode === 413) {
      body.message = 'request body is larger than the allowed maximum (MAX_BODY_BYTES)';
      body.code = BODY_TOO_LARGE;
    }
    return body;
  }

  private describe(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) {
      const statusCode = STATUS[exception.kind];
      return {
        statusCode,
        error: REASON[statusCode]!,
        message: exception.messages ?? exception.message,
        code: exception.code,
        ...exception.details,
      };
    }
    if (exception instanceof HttpException) {
      // Nest wraps Fastify's 4xx errors (body parsing, content type) in an HttpException: describe the original.
      const fastifyCause = fromFastifyError(exception.cause);
      if (fastifyCause) return fastifyCause;
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'object' && response !== null && 'message' in response
          ? (response as { message: string | string[] }).message
          : exception.message;
      return { statusCode, error: REASON[statusCode] ?? exception.name, message, code: CODE[statusCode] ?? 'ERROR' };
    }
    const fastify = fromFastifyError(exception);
    if (fastify) return fastify;
    this.logger.error({ err: exception }, 'unhandled error');
    return { statusCode: 500, error: 'Internal Server Error', message: 'internal server error', code: INTERNAL_ERROR };
  }
}

/** The headers an `http-errors` error of the static files carries (a 416's `Content-Range`), also as the cause of Nest's wrapper. */
function exposedHeaders(exception: unknown): Array<[string, string]> {
  const wrapped = exception instanceof HttpException ? exception.cause : exception;
  const e = wrapped as { expose?: unknown; headers?: unknown } | null;
  if (e?.expose !== true || typeof e.headers !== 'object' || e.headers === null) return [];
  return Object.entries(e.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
}
