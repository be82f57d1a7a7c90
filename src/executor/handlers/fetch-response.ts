/** How data_fetch follows redirects and turns a response body into a result. Pure: no I/O. */

import { NonRetryableError } from '../non-retryable-error.js';

export type BodyKind = 'json' | 'text' | 'binary';

const TEXT_TYPES = new Set([
  'application/xml',
  'application/javascript',
  'application/x-www-form-urlencoded',
  'application/csv',
  'application/x-ndjson',
  'application/yaml',
  'application/x-yaml',
]);

/** json for application/json and *+json; text for text/*, *+xml, common text formats and no type at all; else binary. */
export function bodyKindOf(contentType: string | undefined): BodyKind {
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mime === 'application/json' || mime.endsWith('+json')) return 'json';
  if (mime === '' || mime.startsWith('text/') || mime.endsWith('+xml') || TEXT_TYPES.has(mime)) return 'text';
  return 'binary';
}

/** The charset parameter of a content type, when TextDecoder knows it; else utf-8. */
export function charsetOf(contentType: string | undefined): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  if (!match) return 'utf-8';
  try {
    return new TextDecoder(match[1]).encoding;
  } catch {
    return 'utf-8';
  }
}

/** The body as stored in the result: parsed JSON, decoded text, or base64 for binary content. */
export function decodeBody(bytes: Buffer, contentType: string | undefined): { body: unknown; encoding: 'json' | 'text' | 'base64' } {
  const kind = bodyKindOf(contentType);
  if (kind === 'binary') return { body: bytes.toString('base64'), encoding: 'base64' };
  const text = new TextDecoder(charsetOf(contentType)).decode(bytes);
  if (kind === 'text') return { body: text, encoding: 'text' };
  if (text.trim() === '') return { body: null, encoding: 'json' };
  try {
    return { body: JSON.parse(text), encoding: 'json' };
  } catch (error) {
    throw new Error(`data_fetch: the response says ${contentType} but is not valid JSON (${(error as Error).message})`);
  }
}

export interface HopRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * The request that follows a redirect response, or null when the status is not a redirect. As fetch
 * does: 303 (and 301/302 after a POST) become a GET without body; 307/308 repeat the request; headers
 * carrying credentials are dropped when the redirect leaves the origin.
 */
export function followRedirect(status: number, location: string | undefined, current: HopRequest): HopRequest | null {
  if (!REDIRECTS.has(status)) return null;
  if (!location) throw new Error(`data_fetch: ${status} redirect from ${urlForLog(current.url)} has no Location header`);
  let url: URL;
  try {
    url = new URL(location, current.url);
  } catch {
    throw new Error(`data_fetch: ${status} redirect to an invalid URL ${JSON.stringify(location.slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NonRetryableError(`data_fetch: redirect to ${url.protocol} is not followed (http and https only)`);
  const toGet = status === 303 ? current.method !== 'HEAD' : (status === 301 || status === 302) && current.method === 'POST';
  let headers = { ...current.headers };
  if (toGet) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !['content-type', 'content-length'].includes(k.toLowerCase())));
  if (url.origin !== current.url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.includes(k.toLowerCase())));
  return { url, method: toGet ? 'GET' : current.method, headers, body: toGet ? undefined : current.body };
}

/** A URL fit for logs and results: no credentials, no query string or fragment (they may carry secrets). */
export function urlForLog(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}
