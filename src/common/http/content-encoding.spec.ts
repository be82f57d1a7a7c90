import { describe, expect, it } from '@jest/globals';
import { UnsupportedContentEncodingError } from '../errors/domain-error.js';
import { decodingPlan } from './content-encoding.js';

describe(decodingPlan.name, () => {
  it.each([
    [undefined, []],
    ['', []],
    ['identity', []],
    ['gzip', ['gzip']],
    [' GZip ', ['gzip']],
    ['x-gzip', ['x-gzip']],
    ['deflate', ['deflate']],
    ['br', ['br']],
    // The header lists the codings in the order they were applied; they are undone last first.
    ['deflate, gzip', ['gzip', 'deflate']],
    ['gzip, identity', ['gzip']],
  ])('decodes %p as %p', (header, plan) => {
    expect(decodingPlan(header)).toEqual(plan);
  });

  it.each([['compress'], ['zstd'], ['gzip, zstd'], ['gzip, gzip, gzip']])('refuses %p with a 415 naming what is decoded', (header) => {
    expect(() => decodingPlan(header)).toThrow(UnsupportedContentEncodingError);
    expect(() => decodingPlan(header)).toThrow(/gzip, deflate, br/);
  });
});
