/** What a JSON value sent to the service may hold: nesting depth, only text PostgreSQL can store, and only finite numbers. */
import { INVALID_TEXT, NESTING_TOO_DEEP, NUMBER_OUT_OF_RANGE } from './domain/error-codes.js';
import type { FieldProblem } from './errors/domain-error.js';

/** Deepest nesting of objects and arrays in a request body (a payload has its own, lower limit). */
export const MAX_BODY_DEPTH = 64;
/** Deepest nesting of objects and arrays in a job's payload (`{}` is 1 level, `{"a": {}}` 2). */
export const MAX_PAYLOAD_DEPTH = 32;

export interface JsonProblem extends FieldProblem {
  code: typeof NESTING_TOO_DEEP | typeof INVALID_TEXT | typeof NUMBER_OUT_OF_RANGE;
}

interface Node {
  value: object;
  depth: number;
  parent: Node | null;
  key: string | number;
}

const pathOf = (node: Node | null, key: string | number | undefined, at: string): string => {
  const keys: Array<string | number> = key === undefined ? [] : [key];
  for (let n = node; n && n.parent; n = n.parent) keys.unshift(n.key);
  return keys.reduce<string>((path, k) => (typeof k === 'number' ? `${path}[${k}]` : path ? `${path}.${k}` : k), at) || 'body';
};

/**
 * Why a string cannot be stored, or null: PostgreSQL's text and jsonb refuse NUL (`\u0000`), and a
 * lone UTF-16 surrogate is not Unicode at all (jsonb refuses it; text would silently get U+FFFD).
 */
export function textFault(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)';
  return null;
}

/**
 * A quick look at JSON text before any walk of the parsed value: whether it may hold a problem
 * findJsonProblem would find. NUL and lone surrogates can only be written as `\u` escapes in JSON
 * (a raw control character is invalid, invalid UTF-8 decodes to U+FFFD), a number out of range only
 * with a long exponent or many digits, and the nesting is counted on the text in one pass. False means the value is fine; true means walk it for the exact field.
 */
export function mayHaveJsonProblem(text: string, maxDepth: number): boolean {
  if (/\\u(0000|[dD][89a-fA-F])/.test(text)) return true;
  // A number beyond a double's range (about 1.8e308) has an exponent or 309 digits or more.
  if (/(?:^|[^\w.])-?\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])|\d{309}/.test(text)) return true;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

/**
 * The first problem in a parsed JSON value, or null: nesting deeper than `maxDepth`, a string
 * (value or key) that cannot be stored, or a number parsed as infinity. Iterative, so a value nested 100,000 levels deep is refused
 * without a deep stack; one pass over every node, no copies. `at` prefixes the paths (`payload`).
 */
export function findJsonProblem(root: unknown, maxDepth: number, at = ''): JsonProblem | null {
  if (typeof root === 'string') {
    const fault = textFault(root);
    return fault ? { field: at || 'body', message: `${at || 'body'} ${fault}`, code: INVALID_TEXT } : null;
  }
  if (typeof root !== 'object' || root === null) return null;
  const stack: Node[] = [{ value: root, depth: 1, parent: null, key: '' }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.depth > maxDepth) {
      const field = pathOf(node.parent, node.key, at);
      return { field, message: `${field} nests objects and arrays more than ${maxDepth} levels deep`, code: NESTING_TOO_DEEP };
    }
    const isArray = Array.isArray(node.value);
    const entries = isArray ? (node.value as unknown[]) : Object.keys(node.value);
    for (let i = 0; i < entries.length; i++) {
      let key: string | number = i;
      let child: unknown;
      if (isArray) child = entries[i];
      else {
        key = entries[i] as string;
        const keyFault = textFault(key);
        if (keyFault) {
          const field = pathOf(node, undefined, at);
          return { field, message: `a key in ${field} ${keyFault}`, code: INVALID_TEXT };
        }
        child = (node.value as Record<string, unknown>)[key];
      }
      if (typeof child === 'string') {
        const fault = textFault(child);
        if (fault) {
          const field = pathOf(node, key, at);
          return { field, message: `${field} ${fault}`, code: INVALID_TEXT };
        }
      } else if (typeof child === 'object' && child !== null) {
        stack.push({ value: child, depth: node.depth + 1, parent: node, key });
      } else if (typeof child === 'number' && !Number.isFinite(child)) {
        const field = pathOf(node, key, at);
        return { field, message: `${field} is a number too large for JSON (beyond ±1.8e308), which would be stored as null`, code: NUMBER_OUT_OF_RANGE };
      }
    }
  }
  return null;
}

/**
 * `text` as PostgreSQL can store it, at most `max` UTF-16 units: NUL removed, a surrogate pair never cut
 * in two, and a lone surrogate (an error message quoting half of an emoji, as JSON.parse's do) replaced
 * by U+FFFD. For text this service writes itself (error messages, log lines), never for a user's input,
 * which is refused instead.
 */
export function storableText(text: string, max: number): string {
  let cut = text.replace(/\u0000/g, '');
  if (cut.length > max) cut = cut.slice(0, /[\uD800-\uDBFF]/.test(cut[max - 1]!) ? max - 1 : max);
  return (cut as string & { toWellFormed(): string }).toWellFormed();
}
