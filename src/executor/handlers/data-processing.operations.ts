/** The operations of data_processing and their validation. Pure: no I/O. */
import { isDeepStrictEqual } from 'node:util';
/** Most values of an in/nin list: each record is looked up in it. */
export const MAX_IN_VALUES = 10_000;

export const FILTER_OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'contains', 'exists'] as const;
export const AGGREGATE_FNS = ['count', 'sum', 'avg', 'min', 'max'] as const;
const COMPARISONS = ['gt', 'gte', 'lt', 'lte'] as const;

export type Operation =
  | { op: 'filter'; field: string; operator: (typeof FILTER_OPERATORS)[number]; value?: unknown }
  | { op: 'select'; fields: string[] }
  | { op: 'sort'; by: string; order?: 'asc' | 'desc' }
  | { op: 'group_by'; by: string | string[]; aggregates: Array<{ fn: (typeof AGGREGATE_FNS)[number]; field?: string; as?: string }> }
  | { op: 'limit'; count: number };

const SHAPES: Record<string, string> = {
  filter: `{op: "filter", field, operator: ${FILTER_OPERATORS.join('|')}, value}`,
  select: '{op: "select", fields: [..]}',
  sort: '{op: "sort", by, order?: asc|desc}',
  group_by: `{op: "group_by", by: field or [fields], aggregates: [{fn: ${AGGREGATE_FNS.join('|')}, field?, as?}]}`,
  limit: '{op: "limit", count}',
};

const isField = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

/**
 * Bounds of one operation. Each output record of `select` or `group_by` holds a property per field or
 * aggregate, and every record costs a step per field: a 1 MB payload of 40,000 records grouped with
 * 18,000 aggregates would be 700 million properties, built on the worker's one thread until it runs out
 * of memory, taking the worker's other jobs with it.
 */
export const MAX_FIELDS = 1_000;
export const MAX_GROUP_KEYS = 32;
export const MAX_AGGREGATES = 100;

/** Sets an own property, `__proto__` included (a plain assignment of `__proto__` sets the prototype and drops the field). */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function extraKeys(op: Record<string, unknown>, allowed: string[]): string[] {
  return Object.keys(op).filter((k) => !allowed.includes(k));
}

/** Every problem of an operation list, as messages naming the operation's index; empty when valid. */
export function describeOperationProblems(value: unknown): string[] {
  if (!Array.isArray(value)) return ['operations must be an array'];
  const problems: string[] = [];
  value.forEach((raw, i) => {
    const at = `operations[${i}]`;
    if (!isObject(raw)) return problems.push(`${at} must be an object`);
    const op = raw.op;
    if (typeof op !== 'string' || !(op in SHAPES)) {
      return problems.push(`${at}.op must be one of: ${Object.keys(SHAPES).join(', ')}`);
    }
    const bad = (what: string) => problems.push(`${at} (${op}) ${what}; expected ${SHAPES[op]}`);
    switch (op) {
      case 'filter': {
        if (!isField(raw.field)) bad('needs a field name');
        if (!FILTER_OPERATORS.includes(raw.operator as never)) bad(`has an unknown operator ${JSON.stringify(raw.operator)}`);
        if ((raw.operator === 'in' || raw.operator === 'nin') && !Array.isArray(raw.value)) bad('needs an array value for in/nin');
        else if ((raw.operator === 'in' || raw.operator === 'nin') && (raw.value as unknown[]).length > MAX_IN_VALUES) {
          bad(`has ${(raw.value as unknown[]).length} values for in/nin, more than ${MAX_IN_VALUES}`);
        }
        if (raw.operator !== 'exists' && !('value' in raw)) bad('needs a value');
        if (raw.operator === 'exists' && 'value' in raw && typeof raw.value !== 'boolean') bad('needs a boolean value (or none) for exists');
        if (COMPARISONS.includes(raw.operator as never) && typeof raw.value !== 'number' && typeof raw.value !== 'string') {
          bad(`needs a number or string value for ${String(raw.operator)}`);
        }
        if (raw.operator === 'contains' && (raw.value === null || typeof raw.value === 'object')) bad('needs a scalar value for contains');
        const extra = extraKeys(raw, ['op', 'field', 'operator', 'value']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'select': {
        if (!Array.isArray(raw.fields) || raw.fields.length === 0 || !raw.fields.every(isField)) bad('needs a non-empty list of field names');
        else if (raw.fields.length > MAX_FIELDS) bad(`names ${raw.fields.length} fields; at most ${MAX_FIELDS}`);
        const extra = extraKeys(raw, ['op', 'fields']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'sort': {
        if (!isField(raw.by)) bad('needs a field name in by');
        if (raw.order !== undefined && raw.order !== 'asc' && raw.order !== 'desc') bad('has an order other than asc or desc');
        const extra = extraKeys(raw, ['op', 'by', 'order']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'group_by': {
        const by = Array.isArray(raw.by) ? raw.by : [raw.by];
        if (by.length === 0 || !by.every(isField)) bad('needs a field name (or a list of them) in by');
        else if (by.length > MAX_GROUP_KEYS) bad(`groups by ${by.length} fields; at most ${MAX_GROUP_KEYS}`);
        if (!Array.isArray(raw.aggregates)) bad('needs a list of aggregates');
        else if (raw.aggregates.length > MAX_AGGREGATES) bad(`has ${raw.aggregates.length} aggregates; at most ${MAX_AGGREGATES}`);
        else
          raw.aggregates.forEach((agg: unknown, j: number) => {
            if (!isObject(agg) || !AGGREGATE_FNS.includes(agg.fn as never)) return bad(`aggregates[${j}] needs fn`);
            if (agg.fn !== 'count' && !isField(agg.field)) bad(`aggregates[${j}] (${String(agg.fn)}) needs a field`);
            if (agg.as !== undefined && !isField(agg.as)) bad(`aggregates[${j}].as must be a field name`);
            const extra = extraKeys(agg, ['fn', 'field', 'as']);
            if (extra.length) bad(`aggregates[${j}] has unknown fields ${extra.join(', ')}`);
          });
        const extra = extraKeys(raw, ['op', 'by', 'aggregates']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'limit': {
        if (!Number.isInteger(raw.count) || (raw.count as number) < 0) bad('needs a count (integer >= 0)');
        const extra = extraKeys(raw, ['op', 'count']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
    }
    return undefined;
  });
  return problems;
}

// ---- running the operations ------------------------------------------------------------------

const membership = new WeakMap<readonly unknown[], (v: unknown) => boolean>();

/**
 * Membership in an in/nin list with isDeepStrictEqual's meaning (NaN is NaN, 0 is not -0), built once
 * per list: primitives by a Set lookup, objects and arrays by their canonical JSON (keys sorted), which
 * for JSON values means the same as deep equality. Comparing each record with every value took
 * records × values steps on the worker's one thread (minutes for a 1 MB payload), for objects as well.
 */
function memberOf(list: readonly unknown[]): (v: unknown) => boolean {
  let test = membership.get(list);
  if (!test) {
    const primitives = new Set<unknown>();
    const objects = new Set<string>();
    let negativeZero = false;
    for (const x of list) {
      if (x !== null && typeof x === 'object') objects.add(canonicalJson(x));
      else if (Object.is(x, -0)) negativeZero = true;
      else primitives.add(x);
    }
    test = (v) => (v !== null && typeof v === 'object' ? objects.size > 0 && objects.has(canonicalJson(v)) : Object.is(v, -0) ? negativeZero : primitives.has(v));
    membership.set(list, test);
  }
  return test;
}

type Row = Record<string, unknown>;

/** JSON with every object's keys sorted: equal for values deeply equal whatever their keys' order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** A field's value: the key itself when the record has it, else a dotted path into nested objects (`address.city`). */
export function getField(record: Row, path: string): unknown {
  if (Object.hasOwn(record, path)) return record[path];
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (!isObject(value) || !Object.hasOwn(value, part)) return undefined;
    value = value[part];
  }
  return value;
}

const isMissing = (v: unknown) => v === undefined || v === null;
const typeRank = (v: unknown) => (typeof v === 'number' ? 0 : typeof v === 'string' ? 1 : typeof v === 'boolean' ? 2 : 3);

/** Total order over JSON values: numbers, then strings (code-unit order), then booleans, then the rest by their JSON. */
export function compareValues(a: unknown, b: unknown): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return rank;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [x, y] = typeRank(a) === 3 ? [JSON.stringify(a), JSON.stringify(b)] : [a as string | boolean, b as string | boolean];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Ordered comparisons only hold between two numbers or two strings (ISO dates compare as strings). */
function ordered(v: unknown, target: unknown, test: (c: number) => boolean): boolean {
  const comparable = (typeof v === 'number' && typeof target === 'number') || (typeof v === 'string' && typeof target === 'string');
  return comparable && test(compareValues(v, target));
}

function matches(record: Row, { field, operator, value }: Extract<Operation, { op: 'filter' }>): boolean {
  const v = getField(record, field);
  switch (operator) {
    case 'eq': return isDeepStrictEqual(v, value);
    case 'ne': return !isDeepStrictEqual(v, value);
    case 'gt': return ordered(v, value, (c) => c > 0);
    case 'gte': return ordered(v, value, (c) => c >= 0);
    case 'lt': return ordered(v, value, (c) => c < 0);
    case 'lte': return ordered(v, value, (c) => c <= 0);
    case 'in': return memberOf(value as unknown[])(v);
    case 'nin': return !memberOf(value as unknown[])(v);
    case 'contains':
      if (typeof v === 'string') return v.includes(String(value));
      return Array.isArray(v) && v.some((x) => isDeepStrictEqual(x, value));
    case 'exists': return !isMissing(v) === (value ?? true);
  }
}

/** The name of an aggregate's output column: `as`, else `count`, `count_<field>` or `<fn>_<field>`. */
export function aggregateName({ fn, field, as }: { fn: string; field?: string; as?: string }): string {
  return as ?? (field ? `${fn}_${field}` : fn);
}

function aggregate(rows: Row[], fn: (typeof AGGREGATE_FNS)[number], field?: string): unknown {
  if (fn === 'count') return field ? rows.filter((r) => !isMissing(getField(r, field))).length : rows.length;
  const values = rows.map((r) => getField(r, field!)).filter((v) => !isMissing(v));
  if (fn === 'min' || fn === 'max') {
    if (values.length === 0) return null;
    return values.reduce((best, v) => ((fn === 'min' ? compareValues(v, best) < 0 : compareValues(v, best) > 0) ? v : best));
  }
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const sum = numbers.reduce((s, n) => s + n, 0);
  if (fn === 'sum') return sum;
  return numbers.length === 0 ? null : sum / numbers.length;
}

function groupBy(rows: Row[], { by, aggregates }: Extract<Operation, { op: 'group_by' }>): Row[] {
  const keys = Array.isArray(by) ? by : [by];
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = JSON.stringify(keys.map((k) => getField(row, k) ?? null));
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return [...groups.values()].map((members) => {
    const out: Row = {};
    for (const k of keys) setOwn(out, k, getField(members[0], k) ?? null);
    for (const agg of aggregates) setOwn(out, aggregateName(agg), aggregate(members, agg.fn, agg.field));
    return out;
  });
}

export function applyOperation(rows: Row[], operation: Operation): Row[] {
  switch (operation.op) {
    case 'filter':
      return rows.filter((r) => matches(r, operation));
    case 'select':
      return rows.map((r) => {
        const out: Row = {};
        for (const f of operation.fields) {
          const v = getField(r, f);
          if (v !== undefined) setOwn(out, f, v);
        }
        return out;
      });
    case 'sort': {
      const sign = operation.order === 'desc' ? -1 : 1;
      return [...rows].sort((a, b) => {
        const [x, y] = [getField(a, operation.by), getField(b, operation.by)];
        if (isMissing(x) || isMissing(y)) return Number(isMissing(x)) - Number(isMissing(y)); // missing last, both orders
        return sign * compareValues(x, y);
      });
    }
    case 'group_by':
      return groupBy(rows, operation);
    case 'limit':
      return rows.slice(0, operation.count);
  }
}

/** Runs a validated operation list in order; `steps` says how many rows each one left. */
export function applyOperations(rows: Row[], operations: Operation[]): { records: Row[]; steps: Array<{ op: string; rows: number }> } {
  const steps: Array<{ op: string; rows: number }> = [];
  let current = rows;
  for (const operation of operations) {
    current = applyOperation(current, operation);
    steps.push({ op: operation.op, rows: current.length });
  }
  return { records: current, steps };
}
