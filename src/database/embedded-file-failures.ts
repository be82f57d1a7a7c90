/**
 * Watches the embedded database's answers for a failure of its files (SQLSTATE class 58, "could not
 * create file", or 42501 raised by the storage manager: a folder made read-only, a volume remounted
 * read-only after I/O errors, inodes or quota gone). PGlite's file layer keeps a file whose creation
 * failed as half-made, and every later statement needing it fails ("File exists") even once the folder
 * is writable again, while `SELECT 1` still answers: the process looks healthy and can do nothing. Only
 * reopening the database mends it, so the thread ends, and the process with it, for its supervisor to
 * start again (what was committed is in DATA_DIR).
 *
 * The answers are PostgreSQL's wire protocol: messages of a type byte and a 32-bit length. Only
 * ErrorResponse ('E') messages are read, field by field, so row data never matches. Pure.
 */

import { isFileFailure } from '../common/http/unavailable-errors.js';

const ERROR_RESPONSE = 0x45; // 'E'

/** The fields of one ErrorResponse body (code byte -> value). */
function fields(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out.set(code, Buffer.from(body.subarray(i + 1, end)).toString('utf8'));
    i = end + 1;
  }
  return out;
}

/**
 * Reads a stream of backend messages given in chunks (split anywhere) and calls `found` with the message
 * of the first ErrorResponse that names a failure of the database's files.
 */
export class FileFailureScanner {
  private carry: Uint8Array = new Uint8Array(0);

  constructor(private readonly found: (message: string) => void) {}

  push(chunk: Uint8Array): void {
    let data: Uint8Array = chunk;
    if (this.carry.length > 0) {
      data = new Uint8Array(this.carry.length + chunk.length);
      data.set(this.carry);
      data.set(chunk, this.carry.length);
    }
    let i = 0;
    while (data.length - i >= 5) {
      const length = ((data[i + 1]! << 24) | (data[i + 2]! << 16) | (data[i + 3]! << 8) | data[i + 4]!) >>> 0;
      if (length < 4) {
        // Not a message boundary: stop reading this stream rather than guess.
        this.carry = new Uint8Array(0);
        return;
      }
      if (data.length - i < 1 + length) break;
      if (data[i] === ERROR_RESPONSE) {
        const f = fields(data.subarray(i + 5, i + 1 + length));
        if (isFileFailure(f.get('C'), f.get('F'))) this.found(`${f.get('C')} ${f.get('M') ?? ''}`.trim());
      }
      i += 1 + length;
    }
    this.carry = data.slice(i);
  }
}
