import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError, type DomainErrorKind } from '../errors/domain-error.js';

const STATUS: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code?: string;
  [extra: string]: unknown;
}

/** Fastify errors (body parsing, body limit, content type) carry a statusCode and a code. */
function fromFastifyError(error: unknown): ErrorBody | null {
  if (typeof error !== 'object' || error === null) return null;
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e.statusCode !== 'number' || typeof e.code !== 'string' || !e.code.startsWith('FST_')) return null;
  if (e.statusCode < 400 || e.statusCode >= 500) return null;
  let message = typeof e.message === 'string' ? e.message : 'bad request';
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = 'unsupported content type: send application/json';
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') message = 'request body is empty: send a JSON object';
  if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(message)) {
    message = `request body is not valid JSON: ${message}`;
  }
  return { statusCode: e.statusCode, error: REASON[e.statusCode] ?? 'Bad Request', message };
}

/**
 * The one error filter: DomainErrors, Nest HttpExceptions and Fastify's own errors all leave in
 * DESIGN §6's shape `{statusCode, error, message}`; anything else is a 500 with no detail.
 */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(DomainErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = this.toBody(exception);
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    if (typeof reply?.status !== 'function') return; // not HTTP (e.g. a websocket context)
    reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  toBody(exception: unknown): ErrorBody {
    const body = this.describe(exception);
    if (body.statusCode === 413) body.message = 'request body is larger than the allowed maximum (MAX_BODY_BYTES)';
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
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'object' && response !== null && 'message' in response
          ? (response as { message: string | string[] }).message
          : exception.message;
      return { statusCode, error: REASON[statusCode] ?? exception.name, message };
    }
    const fastify = fromFastifyError(exception);
    if (fastify) return fastify;
    this.logger.error({ err: exception }, 'unhandled error');
    return { statusCode: 500, error: 'Internal Server Error', message: 'internal server error' };
  }
}
