/**
 * Request bodies sent compressed (`Content-Encoding`, RFC 9110 §8.4): gzip, deflate and br are
 * decoded before the JSON parser reads them, a large batch of jobs being mostly repeated text. The
 * decoded body is held to the same MAX_BODY_BYTES as a plain one, counted as it is decoded, so a
 * small body that would inflate to gigabytes stops at the limit (413) instead of being inflated to
 * the end. A coding the service does not know is a 415 naming the ones it does (and an
 * `Accept-Encoding` header listing them, as RFC 9110 §12.5.3 asks): read as plain JSON, such a body
 * was either refused as "not valid JSON" or, worse, accepted while the client meant something else.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { INVALID_CONTENT_ENCODING } from '../domain/error-codes.js';
import { BodyTooLargeError, MalformedBodyError, UnsupportedContentEncodingError } from '../errors/domain-error.js';
import { hasBody } from './no-body.js';

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The codings decoded, as an `Accept-Encoding` value. */
export const ACCEPTED_ENCODINGS = 'gzip, deflate, br';
/** Most codings applied one over the other in one body. */
const MAX_CODINGS = 2;

/**
 * The decoders for a `Content-Encoding` value, in the order they apply to the body as received
 * (the reverse of the header's, which lists the codings in the order they were applied). Throws
 * UnsupportedContentEncodingError for a coding not known, or too many.
 */
export function decodingPlan(header: string | undefined): string[] {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  const unknown = codings.find((c) => !(c in DECODERS));
  const supported = `send the body as it is or compressed with one of ${ACCEPTED_ENCODINGS}`;
  if (unknown !== undefined) {
    throw new UnsupportedContentEncodingError(`the body's Content-Encoding "${unknown.slice(0, 50)}" is not supported: ${supported}`);
  }
  if (codings.length > MAX_CODINGS) {
    throw new UnsupportedContentEncodingError(`the body is encoded ${codings.length} times over (Content-Encoding: ${codings.join(', ')}): at most ${MAX_CODINGS} are decoded; ${supported}`);
  }
  return codings.reverse();
}

/** The decoded body, failing with a coded error when it is not what its coding says or grows past `limit` bytes. */
function decoded(raw: Readable, plan: readonly string[], limit: number): Readable {
  const stages = plan.map((coding) => ({ coding, stream: DECODERS[coding]!() }));
  let decodedBytes = 0;
  const output = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      decodedBytes += chunk.length;
      if (decodedBytes > limit) return callback(new BodyTooLargeError('request body is larger than the allowed maximum (MAX_BODY_BYTES)'));
      callback(null, chunk);
    },
  }) as Transform & { receivedEncodedLength: number };
  // On any failure nothing more is decoded: the rest of the body is read and dropped, not inflated.
  output.on('error', () => {
    raw.unpipe(stages[0]!.stream);
    for (const { stream } of stages) stream.destroy();
  });
  let upstream: Readable = raw;
  for (const { coding, stream } of stages) {
    stream.on('error', (error: Error) => {
      // Nothing at all was sent (a chunked request with an empty body): an empty body, not a bad one.
      if (output.receivedEncodedLength === 0) return output.end();
      output.destroy(new MalformedBodyError(INVALID_CONTENT_ENCODING, `request body is not valid ${coding} data, as its Content-Encoding says (${error.message}): compress it again, or send it as it is without the header`));
    });
    upstream = upstream.pipe(stream);
  }
  upstream.pipe(output);
  // Fastify matches Content-Length (the encoded size) against this count, and holds it to the limit too.
  output.receivedEncodedLength = 0;
  raw.on('data', (chunk: Buffer) => (output.receivedEncodedLength += chunk.length));
  return output;
}

/** Decodes compressed request bodies before the body parsers read them (a preParsing hook). */
export function installContentDecoding(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    const header = request.headers['content-encoding'];
    // A request without a body, or to an unknown route (its 404 comes first), is not decoded.
    if (header === undefined || request.is404 || !hasBody(request.headers)) return done(null, payload);
    let plan: string[];
    try {
      plan = decodingPlan(header);
    } catch (error) {
      void reply.header('accept-encoding', ACCEPTED_ENCODINGS);
      return done(error as Error, undefined);
    }
    done(null, plan.length === 0 ? payload : decoded(payload, plan, bodyLimit));
  });
}
