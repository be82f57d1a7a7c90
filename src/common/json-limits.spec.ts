import { describe, expect, it } from '@jest/globals';
import { findJsonProblem, mayHaveJsonProblem, storableText, textFault } from './json-limits.js';

const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

describe(findJsonProblem.name, () => {
  it.each([
    ['a flat object', { a: 1, b: 'x' }, 3, null],
    ['an object exactly at the limit', { a: { b: {} } }, 3, null],
    ['an object one level too deep', { a: { b: { c: {} } } }, 3, { field: 'a.b.c', code: 'NESTING_TOO_DEEP' }],
    ['arrays, naming the index', { list: nested(5) }, 4, { field: 'list[0][0][0]', code: 'NESTING_TOO_DEEP' }],
    ['a NUL in a value', { a: ['ok', 'x\u0000'] }, 10, { field: 'a[1]', code: 'INVALID_TEXT' }],
    ['a NUL in a key', { a: { 'k\u0000': 1 } }, 10, { field: 'a', code: 'INVALID_TEXT' }],
    ['a lone high surrogate', { s: '\ud800x' }, 10, { field: 's', code: 'INVALID_TEXT' }],
    ['a lone low surrogate', { s: 'x\udc00' }, 10, { field: 's', code: 'INVALID_TEXT' }],
    ['a surrogate pair (an emoji)', { s: '\ud83d\ude00' }, 10, null],
    ['a string at the root', '\u0000', 10, { field: 'body', code: 'INVALID_TEXT' }],
    ['a number parsed as infinity', { a: [1, { b: JSON.parse('1e400') as number }] }, 10, { field: 'a[1].b', code: 'NUMBER_OUT_OF_RANGE' }],
    ['a number parsed as minus infinity', { n: JSON.parse('-1e400') as number }, 10, { field: 'n', code: 'NUMBER_OUT_OF_RANGE' }],
    ['the largest double', { n: Number.MAX_VALUE }, 10, null],
  ])('%s', (_case, value, maxDepth, expected) => {
    const found = findJsonProblem(value, maxDepth);
    if (expected === null) expect(found).toBeNull();
    else expect(found).toMatchObject(expected);
  });

  it('prefixes paths and walks 100,000 levels without a deep stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findJsonProblem(deep, 32, 'payload')).toMatchObject({ field: `payload${'[0]'.repeat(32)}`, code: 'NESTING_TOO_DEEP' });
  });
});

describe(mayHaveJsonProblem.name, () => {
  it.each([
    ['{"a":[1,{"b":"x"}]}', 3, false],
    ['{"a":[1,{"b":"x"}]}', 2, true],
    ['{"s":"[[[[[[["}', 2, false], // brackets inside a string do not nest
    ['{"s":"\\"[[["}', 2, false], // nor after an escaped quote
    ['{"s":"a\\u0000"}', 5, true],
    ['{"s":"\\ud83d\\ude00"}', 5, true], // a pair: walked, and found fine
    ['{"s":"\\u0041"}', 5, false],
    ['{"n":1e400}', 5, true],
    ['{"n":[-2.5E+10]}', 5, true], // any exponent is walked, and found fine when finite
    ['{"id":"01900000-0000-7000-8e2f-000000000001","n":12.5}', 5, false], // a hex id is not a number
  ])('%s at most %i deep: %s', (text, maxDepth, may) => {
    expect(mayHaveJsonProblem(text, maxDepth)).toBe(may);
  });

  it('never says no where findJsonProblem finds one', () => {
    for (const text of ['{"a":"\\u0000"}', '{"a\\udc00":1}', '[[[[1]]]]', '{"a":1e309}', '[-1e999]', `{"a":1${'0'.repeat(309)}.5}`, `{"a":1${'0'.repeat(300)}e9}`]) {
      expect(findJsonProblem(JSON.parse(text), 3)).not.toBeNull();
      expect(mayHaveJsonProblem(text, 3)).toBe(true);
    }
  });
});

describe(textFault.name, () => {
  it.each([
    ['plain', null],
    ['a\u0000', /NUL/],
    ['\udfff', /surrogate/],
  ])('%j -> %s', (text, fault) => {
    if (fault === null) expect(textFault(text)).toBeNull();
    else expect(textFault(text)).toMatch(fault);
  });
});

describe('storableText', () => {
  it('removes NUL, replaces lone surrogates, and never cuts a surrogate pair in two', () => {
    expect(storableText('a\u0000b', 10)).toBe('ab');
    expect(storableText('x\ud83d', 10)).toBe('x\ufffd');
    const cut = storableText(`${'x'.repeat(1999)}😀`, 2000);
    expect(cut).toBe('x'.repeat(1999));
    expect(storableText(`${'x'.repeat(1998)}😀`, 2000)).toBe(`${'x'.repeat(1998)}😀`);
  });

  it('makes an error message quoting half of an emoji storable (JSON.parse quotes one UTF-16 unit)', () => {
    let message = '';
    try {
      JSON.parse('😀');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(storableText(message, 2000)).toMatch(/not valid JSON/);
    expect(textFault(storableText(message, 2000))).toBeNull();
  });
});
