import { describe, expect, it } from '@jest/globals';
import { AddressNotAllowedError, classifyAddress, guardedLookup, ipLiteralOf, submitTimeRefusal, type ResolvedAddress } from './fetch-policy.js';

describe(classifyAddress.name, () => {
  it.each([
    ['93.184.216.34', 'unicast', true],
    ['2606:2800:220:1:248:1893:25c8:1946', 'unicast', true],
    ['127.0.0.1', 'loopback', false],
    ['127.255.0.9', 'loopback', false],
    ['::1', 'loopback', false],
    ['10.1.2.3', 'private', false],
    ['172.16.0.1', 'private', false],
    ['192.168.1.1', 'private', false],
    ['169.254.169.254', 'linkLocal', false],
    ['fe80::1', 'linkLocal', false],
    ['fd00::1', 'uniqueLocal', false],
    ['0.0.0.0', 'unspecified', false],
    ['::', 'unspecified', false],
    ['100.64.0.1', 'carrierGradeNat', false],
    ['224.0.0.1', 'multicast', false],
    ['::ffff:127.0.0.1', 'loopback', false],
    ['::ffff:10.0.0.1', 'private', false],
    ['::7f00:1', 'reserved', false],
    ['::a00:1', 'reserved', false],
    ['4000::1', 'reserved', false],
    ['not-an-ip', 'invalid', false],
  ])('%s is %s', (address, range, isPublic) => {
    expect(classifyAddress(address)).toEqual({ range, isPublic });
  });
});

describe(ipLiteralOf.name, () => {
  it.each([
    ['http://127.0.0.1:8080/x', '127.0.0.1'],
    ['http://[::1]/', '::1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
    ['https://example.com/', null],
  ])('%s -> %s', (url, literal) => {
    expect(ipLiteralOf(new URL(url))).toBe(literal);
  });
});

describe(submitTimeRefusal.name, () => {
  it.each([
    ['http://127.0.0.1/', /refused 127\.0\.0\.1: loopback/],
    ['http://2130706433/', /refused 127\.0\.0\.1: loopback/],
    ['http://0177.0.0.1/', /refused 127\.0\.0\.1: loopback/],
    ['http://0x7f.1/', /refused 127\.0\.0\.1: loopback/],
    ['http://LOCALHOST:8000/', /refused localhost: loopback names/],
    ['http://a.b.localhost/', /refused a\.b\.localhost: loopback names/],
    ['http://[::ffff:192.168.0.1]/', /refused ::ffff:c0a8:1: private/],
    ['http://[::127.0.0.1]:8321/', /refused ::7f00:1: reserved/],
    ['http://[fe80::1]/', /refused fe80::1: linkLocal/],
    ['https://example.com/', null],
    ['https://93.184.216.34/', null],
    ['https://localhost.example.com/', null],
    ['not a url', null],
  ])('%s -> %s', (url, refusal) => {
    const found = submitTimeRefusal(url, false);
    if (refusal === null) expect(found).toBeNull();
    else expect(found).toMatch(refusal);
  });

  it('refuses nothing when private addresses are allowed', () => {
    expect(submitTimeRefusal('http://127.0.0.1/', true)).toBeNull();
  });
});

describe(guardedLookup.name, () => {
  const resolver = (table: Record<string, ResolvedAddress[]>) => async (hostname: string) => table[hostname] ?? [];
  const table = {
    'public.test': [{ address: '93.184.216.34', family: 4 }],
    'mixed.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ],
    localhost: [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ],
  };
  const run = (allow: boolean, host: string, all: boolean) =>
    new Promise<{ error: Error | null; address: unknown; family?: number }>((resolve) =>
      guardedLookup(resolver(table), allow)(host, { all }, (error, address, family) => resolve({ error, address, family })),
    );

  it.each([
    ['a public name, one address', false, 'public.test', false, { error: null, address: '93.184.216.34', family: 4 }],
    ['a public name, all addresses', false, 'public.test', true, { error: null, address: table['public.test'], family: undefined }],
    ['localhost when private is allowed', true, 'localhost', true, { error: null, address: table.localhost, family: undefined }],
  ])('passes %s', async (_label, allow, host, all, expected) => {
    expect(await run(allow, host, all)).toEqual(expected);
  });

  it.each([
    ['localhost', 'localhost', /refused localhost \(resolves to ::1\): loopback/],
    ['a name with one private address among public ones', 'mixed.test', /refused mixed.test \(resolves to 10.0.0.7\): private/],
  ])('refuses %s', async (_label, host, message) => {
    const { error } = await run(false, host, true);
    expect(error).toBeInstanceOf(AddressNotAllowedError);
    expect(error?.message).toMatch(message);
    expect(error?.message).toMatch(/DATA_FETCH_ALLOW_PRIVATE=true/);
  });

  it('fails a name with no address', async () => {
    expect((await run(false, 'nowhere.test', false)).error?.message).toMatch(/has no address/);
  });
});
