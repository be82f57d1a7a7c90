import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsUrl,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateIf,
  type ValidationArguments,
} from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { lookup } from 'node:dns/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { ADDRESS_NOT_ALLOWED } from '../../common/domain/error-codes.js';
import { AppConfig } from '../../config/app-config.js';
import { FETCH_TIMEOUT } from '../../jobs/domain/error-codes.js';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';
import { columnsOf, isPlainObject, recordListOf } from './dependency-results.js';
import type { PayloadProblem } from '../../jobs/job-type-catalog.js';
import { assertAddressAllowed, guardedLookup, ipLiteralOf, submitTimeRefusal } from './fetch-policy.js';
import { BODY_HIGH_WATER_MARK, discard, readBody } from './fetch-body.js';
import { Deadline, settledBy } from './fetch-deadline.js';
import { decodeBody, followRedirect, urlForLog, type HopRequest } from './fetch-response.js';

export const FETCH_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export const FETCH_DEFAULTS = { timeoutMs: 30_000, maxBytes: 1_000_000, maxRedirects: 5 } as const;
/** Results are stored (≤ 1 MiB), so a body cannot be larger than this. */
export const FETCH_MAX_BYTES_LIMIT = 1_000_000;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What HTTP (and undici) allows in a header value: tab, visible ASCII, space and Latin-1; no line breaks. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Headers of the connection and the body's framing, which the HTTP client writes (undici refuses them at
 * run time), and `host`, which follows the URL: set by hand, it would name a virtual host the address
 * checks never saw, and go on naming it to the server of another origin after a redirect.
 */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'content-length', 'host']);

function Check(name: string, valid: (value: unknown, args: ValidationArguments) => boolean, message: string): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({ name, target: target.constructor, propertyName: String(propertyName), validator: { validate: valid, defaultMessage: () => message } });
}

export class DataFetchPayload {
  @ApiProperty({ format: 'uri', maxLength: 2048, example: 'https://api.github.com/repos/nodejs/node/releases?per_page=5', description: 'An http(s) URL; private and loopback addresses need DATA_FETCH_ALLOW_PRIVATE=true.' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'url must be an http(s) URL' })
  // The run parses it with WHATWG URL: what that refuses (e.g. an IPv6 zone id) is refused here, not retried later.
  @Check('isParsableUrl', (v) => typeof v !== 'string' || URL.canParse(v), 'url must be an http(s) URL that can be parsed (an IPv6 zone id such as %eth0 cannot)')
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ enum: FETCH_METHODS, default: 'GET' })
  @Omittable() @IsIn(FETCH_METHODS, { message: `method must be one of: ${FETCH_METHODS.join(', ')}` })
  method?: (typeof FETCH_METHODS)[number];

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, maxProperties: 100, example: { accept: 'application/json' } })
  @Omittable()
  @Check(
    'isHeaderMap',
    (v) => isPlainObject(v) && Object.keys(v).length <= 100 && Object.entries(v).every(([k, x]) => HEADER_NAME.test(k) && typeof x === 'string' && HEADER_VALUE.test(x) && x.length <= 8192),
    'headers must be an object of at most 100 header names to string values (Latin-1 characters, no line breaks)',
  )
  @Check(
    'isHeaderSettable',
    (v) => !isPlainObject(v) || Object.keys(v).every((k) => !CONNECTION_HEADERS.has(k.toLowerCase())),
    `headers must not set ${[...CONNECTION_HEADERS].join(', ')}: the HTTP client sets those itself`,
  )
  headers?: Record<string, string>;

  /** A string is sent as is; an object is sent as JSON. Not with GET or HEAD. */
  @ApiPropertyOptional({
    oneOf: [{ type: 'string', maxLength: 1_000_000 }, { type: 'object', additionalProperties: true }, { type: 'array', items: {} }],
    description: 'A string is sent as is; an object or array as JSON. Needs POST, PUT, PATCH or DELETE.',
  })
  @ValidateIf((o: DataFetchPayload) => o.body !== undefined)
  @Check('isFetchBody', (v) => (typeof v === 'string' && v.length <= 1_000_000) || isPlainObject(v) || Array.isArray(v), 'body must be a string (at most 1000000 characters) or a JSON object or array')
  @Check('isBodyAllowed', (_v, args) => !['GET', 'HEAD'].includes((args.object as DataFetchPayload).method ?? 'GET'), 'body needs a method that carries one (POST, PUT, PATCH or DELETE)')
  body?: string | Record<string, unknown> | unknown[];

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 600_000, default: FETCH_DEFAULTS.timeoutMs, description: 'Time limit of the whole exchange, in milliseconds.' })
  @Omittable() @IsInt() @Min(1) @Max(600_000)
  timeout_ms?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: FETCH_MAX_BYTES_LIMIT, default: FETCH_DEFAULTS.maxBytes, description: 'Largest response body read, in bytes.' })
  @Omittable() @IsInt() @Min(1) @Max(FETCH_MAX_BYTES_LIMIT, { message: `max_bytes must not be greater than ${FETCH_MAX_BYTES_LIMIT} (the result is stored, at most 1 MiB)` })
  max_bytes?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 20, default: FETCH_DEFAULTS.maxRedirects })
  @Omittable() @IsInt() @Min(0) @Max(20)
  max_redirects?: number;
}

/**
 * HTTP request with time and size limits (DESIGN §5). A URL naming a non-public address outright is
 * refused at submit (checkPayload); redirects are followed by hand so every hop is checked; every
 * connection goes through a lookup that refuses non-public addresses (unless DATA_FETCH_ALLOW_PRIVATE)
 * and connects to the addresses it checked. Every request carries `Idempotency-Key: <job id>` unless the
 * payload sets that header itself.
 */
@Injectable()
@JobHandler('data_fetch')
export class DataFetchHandler implements JobHandlerContract<DataFetchPayload>, OnApplicationShutdown {
  readonly payloadType = DataFetchPayload;
  private agent?: Agent;

  constructor(private readonly config: AppConfig) {}

  /** A URL whose address is known at submit (an IP literal, localhost) is refused then, not at run time. */
  checkPayload(payload: DataFetchPayload): PayloadProblem[] {
    if (typeof payload.url !== 'string') return [];
    const refusal = submitTimeRefusal(payload.url, this.config.dataFetchAllowPrivate);
    return refusal ? [{ field: 'url', message: refusal, code: ADDRESS_NOT_ALLOWED }] : [];
  }

  /** After the worker drained (BeforeApplicationShutdown): requests still running keep their connections until then. */
  async onApplicationShutdown(): Promise<void> {
    await this.agent?.destroy();
  }

  private dispatcher(): Agent {
    this.agent ??= new Agent({
      connect: {
        lookup: guardedLookup(
          (hostname, family) => lookup(hostname, { all: true, family, order: 'verbatim' }),
          this.config.dataFetchAllowPrivate,
        ) as never,
      },
    });
    return this.agent;
  }

  async handle(job: RunningJob<DataFetchPayload>, ctx: JobContext): Promise<unknown> {
    const p = job.payload;
    const timeoutMs = p.timeout_ms ?? FETCH_DEFAULTS.timeoutMs;
    const maxBytes = p.max_bytes ?? FETCH_DEFAULTS.maxBytes;
    const maxRedirects = p.max_redirects ?? FETCH_DEFAULTS.maxRedirects;
    const deadline = new Deadline(ctx.signal, timeoutMs);
    const { signal } = deadline;
    const startedAt = Date.now();
    const headers: Record<string, string> = { 'user-agent': 'draconic data_fetch', ...p.headers };
    // The same key on every attempt, so that the server can recognise a repeat (at-least-once delivery).
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'idempotency-key')) headers['idempotency-key'] = ctx.idempotencyKey;
    let body: string | undefined;
    if (typeof p.body === 'string') body = p.body;
    else if (p.body !== undefined) {
      body = JSON.stringify(p.body);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    let hop: HopRequest = { url: new URL(p.url), method: p.method ?? 'GET', headers, body };
    const redirects: string[] = [];
    // The response whose body is not yet read to its end: on every way out, its body is read or
    // destroyed. One left unread fills undici's buffer and pauses its parser, which holds the socket
    // (and, should the server then close it, ends the process: see readBody).
    let open: Dispatcher.ResponseData | undefined;
    try {
      for (;;) {
        const literal = ipLiteralOf(hop.url);
        if (literal) assertAddressAllowed(literal, literal, this.config.dataFetchAllowPrivate);
        const response = (open = await settledBy(signal, request(hop.url, {
          dispatcher: this.dispatcher(),
          method: hop.method as 'GET',
          headers: hop.headers,
          body: hop.body,
          signal,
          highWaterMark: BODY_HIGH_WATER_MARK,
        })));
        const next = followRedirect(response.statusCode, header(response.headers.location), hop);
        if (next) {
          await response.body.dump({ limit: 64 * 1024, signal }).catch(() => undefined);
          if (redirects.length >= maxRedirects) throw new Error(`data_fetch: more than max_redirects (${maxRedirects}) redirects; last to ${urlForLog(next.url)}`);
          redirects.push(urlForLog(next.url));
          await ctx.log.debug(`${response.statusCode} redirect to ${urlForLog(next.url)}`);
          hop = next;
          continue;
        }
        const contentType = header(response.headers['content-type']);
        if (response.statusCode < 200 || response.statusCode > 299) {
          const snippet = (await readBody(response.body, 300, { truncate: true }).catch(() => Buffer.alloc(0))).toString('utf8').replace(/\s+/g, ' ').trim();
          throw Object.assign(new Error(`data_fetch: ${hop.method} ${urlForLog(hop.url)} answered ${response.statusCode}${snippet ? `: ${snippet}` : ''}`), {
            code: `HTTP_${response.statusCode}`,
          });
        }
        const declared = Number(header(response.headers['content-length']) ?? NaN);
        if (hop.method !== 'HEAD' && declared > maxBytes) {
          discard(response.body);
          throw new Error(`data_fetch: the response is ${declared} bytes, more than max_bytes (${maxBytes})`);
        }
        const bytes = hop.method === 'HEAD' ? Buffer.alloc(0) : await readBody(response.body, maxBytes, { declared, progress: (percent) => ctx.progress(percent) });
        const decoded = decodeBody(bytes, contentType);
        const elapsedMs = Date.now() - startedAt;
        await ctx.log.info(`${hop.method} ${urlForLog(hop.url)} answered ${response.statusCode}, ${bytes.length} bytes of ${contentType ?? 'unknown type'} in ${elapsedMs} ms`, {
          status: response.statusCode,
          bytes: bytes.length,
          redirects: redirects.length,
        });
        return {
          url: withoutCredentials(hop.url),
          status: response.statusCode,
          content_type: contentType ?? null,
          headers: Object.fromEntries(Object.entries(response.headers).filter(([k]) => k !== 'set-cookie')),
          bytes: bytes.length,
          redirects,
          elapsed_ms: elapsedMs,
          encoding: decoded.encoding,
          body: decoded.body,
          ...columnsOfBody(decoded.body),
        };
      }
    } catch (error) {
      if (deadline.passed) {
        throw Object.assign(new Error(`data_fetch: no complete response from ${urlForLog(hop.url)} within timeout_ms (${timeoutMs} ms)`), { code: FETCH_TIMEOUT });
      }
      throw unwrap(error);
    } finally {
      if (open && !open.body.readableEnded) discard(open.body);
      deadline.clear();
    }
  }
}

/** A record-list body's key order as `columns`: the stored jsonb result does not keep it. */
function columnsOfBody(body: unknown): { columns?: string[] } {
  const list = recordListOf({ body });
  return list ? { columns: columnsOf(list.filter(isPlainObject)) } : {};
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function withoutCredentials(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy.toString();
}

/** undici wraps connect errors; surface ours (AddressNotAllowedError) as the job's error. */
function unwrap(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    if ((current as { code?: unknown }).code === ADDRESS_NOT_ALLOWED) return current;
    current = current.cause;
  }
  return error;
}
