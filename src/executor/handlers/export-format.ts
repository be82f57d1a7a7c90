/** How data_export renders records as CSV, JSON or NDJSON. Pure: no I/O. */
import { stringify } from 'csv-stringify/sync';
import { NonRetryableError } from '../non-retryable-error.js';
import { getField } from './data-processing.operations.js';
import { columnsOf, orderColumns, type DataRecord } from './dependency-results.js';

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export { columnsOf };

/** A CSV cell: empty for null/missing, true/false for booleans, JSON for objects and arrays. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Keeps only the given fields (dotted paths allowed), in that order; all of each record when none are given. */
export function project(records: DataRecord[], fields?: string[]): DataRecord[] {
  if (!fields) return records;
  return records.map((r) => Object.fromEntries(fields.map((f) => [f, getField(r, f) ?? null])));
}

/**
 * The file content: CSV (RFC 4180 quoting by csv-stringify, a header row of the columns; no header when there
 * are no columns), pretty JSON array, or one JSON object per line. Columns: `fields` when given (JSON and
 * NDJSON then hold only those), else the `columnOrder` known from the dependencies, then any other key.
 */
export function renderRecords(
  records: DataRecord[],
  format: ExportFormat,
  { fields, columnOrder = [], escapeFormulas = false }: { fields?: string[]; columnOrder?: string[]; escapeFormulas?: boolean } = {},
): { content: string; columns: string[] } {
  const columns = fields ?? orderColumns(columnOrder, records);
  // A table of rows × columns is built for CSV, and for any format when `fields` are named.
  if (format === 'csv' || fields) checkCells(records.length, columns.length);
  const rows = project(records, fields);
  switch (format) {
    case 'csv': {
      if (columns.length === 0) return { content: '', columns };
      // Numbers stay numbers for csv-stringify (its cast writes String(n)): with escape_formulas it leaves a
      // negative number as it is and prefixes a ' to text starting with = + - @, a tab or a carriage return.
      const cell = (value: unknown) => (typeof value === 'number' ? value : csvCell(value));
      return { content: stringify(rows.map((r) => columns.map((c) => cell(r[c]))), { header: true, columns, escape_formulas: escapeFormulas }), columns };
    }
    case 'json':
      return { content: `${JSON.stringify(rows, null, 2)}\n`, columns };
    case 'ndjson':
      return { content: rows.map((r) => `${JSON.stringify(r)}\n`).join(''), columns };
  }
}

/**
 * The most cells (rows × columns) an export builds: a 1 MB payload of 60,000 records each with a key of
 * its own makes 60,000 columns, 3.6 billion cells, and the worker ran out of memory building them,
 * taking its other jobs with it. Past this the job fails at once (another attempt would fail the same).
 */
export const MAX_EXPORT_CELLS = 20_000_000;

function checkCells(rows: number, columns: number): void {
  if (rows * columns <= MAX_EXPORT_CELLS) return;
  throw new NonRetryableError(
    `data_export: ${rows} rows × ${columns} columns is over ${MAX_EXPORT_CELLS.toLocaleString('en')} cells: name the columns to keep (fields) or export fewer records`,
  );
}

/** With a user_id: the records whose `user_id` equals it (a number, or the same digits as a string). */
export function recordsOfUser(records: DataRecord[], userId: number): DataRecord[] {
  return records.filter((r) => r.user_id === userId || r.user_id === String(userId));
}

/** `export-<job id>.<ext>`, or `user-<id>-export-<job id>.<ext>`: one name per job, so a retry replaces its own file. */
export function defaultExportName(jobId: string, format: ExportFormat, userId?: number): string {
  return `${userId === undefined ? '' : `user-${userId}-`}export-${jobId}.${format}`;
}
