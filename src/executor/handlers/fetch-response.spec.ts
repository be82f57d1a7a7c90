import { describe, expect, it } from '@jest/globals';
import { bodyKindOf, charsetOf, decodeBody, followRedirect, urlForLog, type HopRequest } from './fetch-response.js';

describe(bodyKindOf.name, () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['application/vnd.api+json', 'json'],
    ['text/csv', 'text'],
    ['text/html; charset=iso-8859-1', 'text'],
    ['application/xml', 'text'],
    ['application/atom+xml', 'text'],
    [undefined, 'text'],
    ['image/png', 'binary'],
    ['application/octet-stream', 'binary'],
  ])('%s is %s', (contentType, kind) => {
    expect(bodyKindOf(contentType)).toBe(kind);
  });
});

describe(charsetOf.name, () => {
  it.each([
    ['text/plain; charset=ISO-8859-1', 'windows-1252'],
    ['text/plain; charset="utf-8"', 'utf-8'],
    ['text/plain; charset=bogus', 'utf-8'],
    ['text/plain', 'utf-8'],
  ])('%s -> %s', (contentType, charset) => {
    expect(charsetOf(contentType)).toBe(charset);
  });
});

describe(decodeBody.name, () => {
  it.each([
    ['JSON', Buffer.from('[{"a":1}]'), 'application/json', { body: [{ a: 1 }], encoding: 'json' }],
    ['empty JSON', Buffer.from(' '), 'application/json', { body: null, encoding: 'json' }],
    ['text', Buffer.from('héllo'), 'text/plain', { body: 'héllo', encoding: 'text' }],
    ['latin-1 text', Buffer.from([0x68, 0xe9]), 'text/plain; charset=iso-8859-1', { body: 'hé', encoding: 'text' }],
    ['binary', Buffer.from([0, 1, 2]), 'image/png', { body: 'AAEC', encoding: 'base64' }],
  ])('decodes %s', (_label, bytes, contentType, expected) => {
    expect(decodeBody(bytes, contentType)).toEqual(expected);
  });

  it('fails on a body that claims JSON but is not', () => {
    expect(() => decodeBody(Buffer.from('<html>'), 'application/json')).toThrow(/not valid JSON/);
  });
});

describe(followRedirect.name, () => {
  const post: HopRequest = {
    url: new URL('https://a.test/start?x=1'),
    method: 'POST',
    headers: { authorization: 'Bearer t', 'content-type': 'application/json', accept: 'application/json' },
    body: '{}',
  };

  it('is null for a non-redirect status', () => {
    expect(followRedirect(200, '/elsewhere', post)).toBeNull();
    expect(followRedirect(304, '/elsewhere', post)).toBeNull();
  });

  it.each([
    [301, 'GET', undefined],
    [302, 'GET', undefined],
    [303, 'GET', undefined],
    [307, 'POST', '{}'],
    [308, 'POST', '{}'],
  ])('a %s after POST continues with %s', (status, method, body) => {
    const next = followRedirect(status, '/next', post)!;
    expect(next.url.href).toBe('https://a.test/next');
    expect(next.method).toBe(method);
    expect(next.body).toBe(body);
    expect(next.headers.authorization).toBe('Bearer t'); // same origin keeps credentials
    expect('content-type' in next.headers).toBe(method === 'POST');
  });

  it('drops credentials when leaving the origin', () => {
    const next = followRedirect(307, 'https://b.test/x', post)!;
    expect(next.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' });
  });

  it.each([
    [undefined, /no Location header/],
    ['ftp://a.test/file', /ftp: is not followed/],
    ['http://[bad', /invalid URL/],
  ])('refuses a redirect to %s', (location, message) => {
    expect(() => followRedirect(302, location, post)).toThrow(message);
  });
});

describe(urlForLog.name, () => {
  it('hides credentials and the query', () => {
    expect(urlForLog(new URL('https://u:p@a.test/x/y?token=s#f'))).toBe('https://a.test/x/y?…');
    expect(urlForLog(new URL('http://a.test/x'))).toBe('http://a.test/x');
  });
});
