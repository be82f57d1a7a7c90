/** File names and folders of the files handlers write and read. Pure: path arithmetic, no I/O. */
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { NonRetryableError } from '../non-retryable-error.js';

/** A plain file name: letters, digits, `.`, `_`, `-`; no folder, not hidden, not `.`/`..`. */
export const PLAIN_FILE_NAME = /^(?!\.)[A-Za-z0-9._-]{1,200}$/;

/** True when `file` (resolved) lies strictly inside `dir` (resolved). */
export function isInsideDir(dir: string, file: string): boolean {
  const rel = relative(resolve(dir), resolve(dir, file));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The absolute path of a plain file name inside dir; throws for anything that could leave it. */
export function resolveInside(dir: string, fileName: string): string {
  if (!PLAIN_FILE_NAME.test(fileName) || basename(fileName) !== fileName || !isInsideDir(dir, fileName)) {
    throw new NonRetryableError(`refused file name ${JSON.stringify(fileName)}: a plain file name is needed (letters, digits, . _ -; no folders)`);
  }
  return resolve(dir, fileName);
}

/** A file name made safe from free text (a report type, a user id): other characters become `-`. */
export function slug(text: string, maxLength = 60): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, maxLength) || 'file';
}
