import { describe, expect, it } from '@jest/globals';
import { ApiKeyRing, presentedKey } from './api-keys.js';
import { isOriginAllowed } from './cross-site.js';
import { defaultRole, roleAllows } from './roles.js';

describe(ApiKeyRing.name, () => {
  const ring = new ApiKeyRing([
    { name: 'a', key: 'key-a', role: 'read' },
    { name: 'b', key: 'key-bb', role: 'admin' },
  ]);

  it.each([
    ['key-a', 'a'],
    ['key-bb', 'b'],
    ['key-b', null],
    ['key-a ', null],
    ['', null],
    [undefined, null],
  ])('identifies %j as %s', (presented, name) => {
    expect(ring.identify(presented)?.name ?? null).toBe(name);
  });

  it('is open without keys', () => {
    expect(new ApiKeyRing([]).isOpen).toBe(true);
    expect(ring.isOpen).toBe(false);
  });
});

describe(presentedKey.name, () => {
  it.each([
    [{ authorization: 'Bearer k1' }, 'k1'],
    [{ authorization: 'bearer   k1 ' }, 'k1'],
    [{ 'x-api-key': 'k2' }, 'k2'],
    [{ authorization: 'Basic abc' }, undefined],
    [{}, undefined],
  ])('%j -> %s', (headers, key) => {
    expect(presentedKey(headers)).toBe(key);
  });
});

describe('roles', () => {
  it.each([
    ['GET', 'read'],
    ['HEAD', 'read'],
    ['POST', 'admin'],
    ['PATCH', 'admin'],
    ['DELETE', 'admin'],
  ])('an undeclared %s endpoint needs %s', (method, role) => {
    expect(defaultRole(method)).toBe(role);
  });

  it.each([
    ['read', 'read', true],
    ['read', 'operate', false],
    ['operate', 'operate', true],
    ['operate', 'admin', false],
    ['admin', 'read', true],
  ] as const)('%s may do what needs %s: %s', (held, needed, allowed) => {
    expect(roleAllows(held, needed)).toBe(allowed);
  });
});

describe(isOriginAllowed.name, () => {
  it.each([
    [undefined, 'api:8000', [], true],
    ['http://api:8000', 'api:8000', [], true],
    ['https://dash.example.com', 'api:8000', [], false],
    ['https://dash.example.com', 'api:8000', ['https://dash.example.com'], true],
    ['https://evil.example.com', 'api:8000', ['https://dash.example.com'], false],
    ['https://evil.example.com', 'api:8000', ['*'], true],
    ['null', 'api:8000', [], false],
    // The Host header names the same origin with the scheme's default port, or in capitals.
    ['https://jobs.example.com', 'jobs.example.com:443', [], true],
    ['http://localhost', 'localhost:80', [], true],
    ['http://localhost:80', 'localhost', [], true],
    ['http://localhost:4670', 'LOCALHOST:4670', [], true],
    ['http://[::1]:4670', '[::1]:4670', [], true],
    ['https://jobs.example.com', 'jobs.example.com:80', [], false],
    ['http://localhost', 'localhost:8080', [], false],
    ['http://localhost', 'bad host/', [], false],
  ])('%s on %s with %j: %s', (origin, host, allowed, expected) => {
    expect(isOriginAllowed(origin, host, allowed)).toBe(expected);
  });
});
