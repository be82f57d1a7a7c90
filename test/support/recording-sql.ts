import type { Sql } from '../../src/database/sql.js';

/** A statement a repository sent, with its values. */
export interface SentStatement {
  text: string;
  values: unknown[];
}

/**
 * A stand-in for Sql that runs nothing: each statement a repository sends is kept in `sent` and answered
 * with no rows, so that a test can run it itself (under EXPLAIN, say) on a database it prepared.
 */
export function recordingSql(): { sql: Sql; sent: SentStatement[] } {
  const sent: SentStatement[] = [];
  const record = async (text: string, values: unknown[] = []) => (sent.push({ text, values }), []);
  return { sql: { query: record, dynamic: record } as unknown as Sql, sent };
}
