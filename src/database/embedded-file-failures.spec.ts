import { describe, expect, it } from '@jest/globals';
import { isFileFailure } from '../common/http/unavailable-errors.js';
import { FileFailureScanner } from './embedded-file-failures.js';

/** A backend message: type byte, 32-bit length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const errorResponse = (f: Record<string, string>) => message('E', Buffer.concat([...Object.entries(f).map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])]));
const dataRow = (text: string) => {
  const value = Buffer.from(text);
  const body = Buffer.alloc(2 + 4 + value.length);
  body.writeUInt16BE(1, 0);
  body.writeUInt32BE(value.length, 2);
  value.copy(body, 6);
  return message('D', body);
};

describe(isFileFailure.name, () => {
  it.each([
    ['58P02', 'fd.c', true],
    ['58P01', undefined, true],
    ['58030', 'xlog.c', true],
    ['42501', 'md.c', true],
    ['42501', 'aclchk.c', false], // permission denied on a table: a grant, not a file
    ['23505', 'nbtinsert.c', false],
    [undefined, undefined, false],
  ])('%s raised in %s: %s', (code, file, expected) => expect(isFileFailure(code, file)).toBe(expected));
});

describe(FileFailureScanner.name, () => {
  it('finds a file failure in an ErrorResponse, across chunks split anywhere', () => {
    const found: string[] = [];
    const stream = Buffer.concat([
      dataRow('x'.repeat(256)),
      errorResponse({ S: 'ERROR', C: '58P02', M: 'could not create file "base/5/16384_fsm": File exists', F: 'fd.c' }),
      message('Z', Buffer.from('I')),
    ]);
    const scanner = new FileFailureScanner((m) => found.push(m));
    for (let i = 0; i < stream.length; i += 7) scanner.push(stream.subarray(i, i + 7));
    expect(found).toEqual(['58P02 could not create file "base/5/16384_fsm": File exists']);
  });

  it('never reads row data as an error: a value that looks like one passes', () => {
    const found: string[] = [];
    const scanner = new FileFailureScanner((m) => found.push(m));
    scanner.push(Buffer.concat([dataRow(`\0C58P02\0${'y'.repeat(250)}`), errorResponse({ S: 'ERROR', C: '23505', M: 'duplicate key', F: 'nbtinsert.c' })]));
    expect(found).toEqual([]);
  });
});
