/** The only request body parser: JSON, checked for depth and storable text before anything reads it. */
import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { EMPTY_BODY, FORBIDDEN_JSON_KEY, INVALID_JSON, INVALID_TEXT } from '../domain/error-codes.js';
import { MalformedBodyError, ValidationFailedError } from '../errors/domain-error.js';
import { findJsonProblem, mayHaveJsonProblem, MAX_BODY_DEPTH } from '../json-limits.js';
import { installContentDecoding } from './content-encoding.js';
import { installLingeringClose } from './lingering-close.js';

export const EMPTY_BODY_MESSAGE = 'request body is empty: send a JSON object with "Content-Type: application/json"';

/** Parses a JSON body; refuses `__proto__` and `constructor.prototype` keys (prototype pollution), as Fastify's own parser does. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new MalformedBodyError(EMPTY_BODY, EMPTY_BODY_MESSAGE);
  let parsed: unknown;
  try {
    parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (/forbidden prototype property/.test(reason)) {
      throw new MalformedBodyError(FORBIDDEN_JSON_KEY, 'request body has a "__proto__" or "constructor.prototype" key, which is refused');
    }
    throw new MalformedBodyError(INVALID_JSON, `request body is not valid JSON: ${reason}`);
  }
  // Walking every node of a large body costs more than scanning its text: walk only when the text says so.
  const problem = mayHaveJsonProblem(text, MAX_BODY_DEPTH) ? findJsonProblem(parsed, MAX_BODY_DEPTH) : null;
  if (problem) throw new ValidationFailedError([problem], problem.code);
  return parsed;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A body's text (JSON is UTF-8, RFC 8259; a `charset` parameter is not read). Bytes that are not UTF-8
 * are refused: replaced by U+FFFD, as a lenient decoder does, a Latin-1 "é" would be stored silently
 * changed, and two idempotency keys differing only there would name one job.
 */
export function decodeUtf8(body: Uint8Array): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw new MalformedBodyError(INVALID_TEXT, 'request body is not UTF-8 text: send JSON encoded as UTF-8 (a Latin-1 or Windows-1252 character, or the bytes of a lone surrogate, are not)');
  }
}

/** The 415's message: what was sent, and what to send instead. */
export function unsupportedMediaTypeMessage(contentType: string | undefined): string {
  const sent = contentType?.split(';')[0]?.trim().toLowerCase();
  const fix = 'send the body as JSON with the header "Content-Type: application/json"';
  if (!sent) return `the request body has no Content-Type: ${fix}`;
  const hint = sent === 'application/x-www-form-urlencoded' ? ', which is what curl -d sends unless told otherwise' : '';
  return `the request body was sent as "${sent}"${hint}: ${fix} (curl: -H 'Content-Type: application/json')`;
}

/**
 * Replaces every body parser with one for `application/json`, which refuses bodies nested deeper
 * than MAX_BODY_DEPTH (class-transformer recurses once per level) and strings PostgreSQL cannot
 * store. Any other content type (a form post, text/plain) is a 415: a browser form on another site
 * cannot send a body the service reads.
 */
export function installJsonBodyParser(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      // No body at all, whatever the header says (many HTTP clients send it on every request): the
      // routes that take none (cancel, retry, trigger, DELETE) go on; a route that takes one answers
      // EMPTY_BODY from the validation pipe.
      if ((body as Buffer).length === 0) return done(null, undefined);
      done(null, parseJsonBody(decodeUtf8(body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Any other body is refused with a 415 saying what was sent, without reading it; an unknown
  // route's body is left for its 404.
  fastify.addContentTypeParser('*', (request, _payload, done) => {
    if (request.is404) return done(null, undefined);
    // An empty body is no body, whatever its Content-Type (docs/security.md): a route that takes none
    // answers as usual, one that takes a body answers EMPTY_BODY from the validation pipe.
    if (request.headers['content-length'] === '0') return done(null, undefined);
    done(new UnsupportedMediaTypeException(unsupportedMediaTypeMessage(request.headers['content-type'])), undefined);
  });
  installContentDecoding(fastify, bodyLimit);
  installLingeringClose(fastify);
}
