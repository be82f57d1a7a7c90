/** How built-in handlers read their dependencies' results: records and produced files. Pure: no I/O. */
import type { DependencyResult } from '../job-handler.decorator.js';

export type DataRecord = Record<string, unknown>;

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The dependencies once each, in the order given: the context's map holds each under its id and its ref. */
export function distinctDependencies(results: ReadonlyMap<string, DependencyResult>): DependencyResult[] {
  const seen = new Set<string>();
  const out: DependencyResult[] = [];
  for (const dep of results.values()) {
    if (seen.has(dep.id)) continue;
    seen.add(dep.id);
    out.push(dep);
  }
  return out;
}

/**
 * The record list a result carries, or null when it carries none. Tried in this order:
 * the result itself is an array; `result.records` is an array (data_processing, or any handler);
 * `result.body` is an array (data_fetch of a JSON array); `result.body.records` / `.items` / `.data`
 * is an array (data_fetch of a common JSON envelope).
 */
export function recordListOf(result: unknown): unknown[] | null {
  if (Array.isArray(result)) return result;
  if (!isPlainObject(result)) return null;
  if (Array.isArray(result.records)) return result.records;
  const body = result.body;
  if (Array.isArray(body)) return body;
  if (isPlainObject(body)) {
    for (const key of ['records', 'items', 'data'] as const) if (Array.isArray(body[key])) return body[key] as unknown[];
  }
  return null;
}

/**
 * The column order a result declares in `columns` (data_fetch, data_processing and data_export set it):
 * results are stored as PostgreSQL jsonb, which does not keep the order of object keys.
 */
export function declaredColumnsOf(result: unknown): string[] | null {
  if (!isPlainObject(result) || !Array.isArray(result.columns)) return null;
  return result.columns.every((c) => typeof c === 'string') ? (result.columns as string[]) : null;
}

/** Every key of the records, in the order first seen. */
export function columnsOf(records: DataRecord[]): string[] {
  const columns = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) columns.add(key);
  return [...columns];
}

/** The declared order first, then any other key of the records. */
export function orderColumns(declared: string[], records: DataRecord[]): string[] {
  return [...new Set([...declared, ...columnsOf(records)])];
}

export interface CollectedRecords {
  records: DataRecord[];
  /** The columns in order: each dependency's declared columns (else its keys as stored), merged. */
  columns: string[];
  /** Ids of the dependencies that gave a record list. */
  fromIds: string[];
  /** Entries of those lists that are not objects (left out). */
  skipped: number;
}

/** The records of every dependency that has some, concatenated in dependency order (oldest first). */
export function collectRecords(dependencies: DependencyResult[]): CollectedRecords {
  const records: DataRecord[] = [];
  const columns: string[] = [];
  const fromIds: string[] = [];
  let skipped = 0;
  for (const dep of dependencies) {
    const list = recordListOf(dep.result);
    if (!list) continue;
    fromIds.push(dep.id);
    const own = list.filter(isPlainObject);
    skipped += list.length - own.length;
    for (const record of own) records.push(record); // a spread of 125,000 or more overflows the call stack
    columns.push(...orderColumns(declaredColumnsOf(dep.result) ?? [], own));
  }
  return { records, columns: [...new Set(columns)], fromIds, skipped };
}

export interface ProducedFile {
  path: string;
  jobId: string;
  type: string;
}

/** The files a result names: `path` (string), `paths` (strings) and `files[].path`; each once. */
export function filesOf(result: unknown): string[] {
  if (!isPlainObject(result)) return [];
  const paths: unknown[] = [result.path];
  if (Array.isArray(result.paths)) paths.push(...result.paths);
  if (Array.isArray(result.files)) paths.push(...result.files.map((f) => (isPlainObject(f) ? f.path : undefined)));
  return [...new Set(paths.filter((p): p is string => typeof p === 'string' && p.length > 0))];
}

/** The files the dependencies produced, in dependency order, each once. */
export function collectFiles(dependencies: DependencyResult[]): ProducedFile[] {
  const seen = new Set<string>();
  const out: ProducedFile[] = [];
  for (const dep of dependencies) {
    for (const path of filesOf(dep.result)) {
      if (seen.has(path)) continue;
      seen.add(path);
      out.push({ path, jobId: dep.id, type: dep.type });
    }
  }
  return out;
}
